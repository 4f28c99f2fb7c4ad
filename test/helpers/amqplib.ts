// Shared helpers for the amqplib end-to-end suite (test/integration/amqplib). They wrap amqplib's promise
// API with the bookkeeping every test needs: unique names, cleanup of queues and exchanges, waiting for
// deliveries with a clear timeout, and capturing the error that closed a channel or a connection.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import net from 'node:net'
import { dirname, join } from 'node:path'
import amqp from 'amqplib'
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options, SocketOptions } from 'amqplib'

/** Default time to wait for something the broker should do promptly. */
export const WAIT_MS = 5000
/** Per-test timeout, so a broker that never answers fails the test instead of hanging the run. */
export const TEST_TIMEOUT = { timeout: 20_000 }

/** Server-generated names: RabbitMQ uses a prefix and 22 url-safe base64 characters (16 random bytes). */
export const SERVER_NAMED_QUEUE = /^amq\.gen-[A-Za-z0-9_-]{22}$/
export const SERVER_CONSUMER_TAG = /^amq\.ctag-[A-Za-z0-9_-]{22}$/

/** What amqplib puts on the errors it creates from channel.close / connection.close frames. */
export interface AmqpError extends Error {
  code?: number
  classId?: number
  methodId?: number
}

export interface ExpectedClose {
  code: number
  /** The complete reply text, e.g. "NOT_FOUND - no queue 'q' in vhost '/'" */
  text: string
  classId?: number
  methodId?: number
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `check` until it returns true, failing clearly after `ms`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  what: string | (() => string),
  ms = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`)
    }
    await sleep(20)
  }
}

/** The reply text inside amqplib's error messages: `... with message "TEXT"`. */
export function replyText(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined
  const m = /with message "([\s\S]*)"$/.exec(err.message)
  return m?.[1]
}

export function assertClose(err: unknown, expected: ExpectedClose, context: string): void {
  assert.ok(err instanceof Error, `${context}: expected an error, got ${String(err)}`)
  const e = err as AmqpError
  assert.equal(e.code, expected.code, `${context}: reply code (error was: ${e.message})`)
  assert.equal(replyText(e), expected.text, `${context}: reply text`)
  if (expected.classId !== undefined) assert.equal(e.classId, expected.classId, `${context}: class id`)
  if (expected.methodId !== undefined) assert.equal(e.methodId, expected.methodId, `${context}: method id`)
}

// ---------------------------------------------------------------------------------------------------------
// Connections and channels, with their close reasons captured from the start

const connectionClosed = new WeakMap<ChannelModel, Promise<AmqpError | undefined>>()
const channelClosed = new WeakMap<Channel, Promise<AmqpError | undefined>>()

/** amqp.connect, plus an 'error' listener (so a server close cannot crash the process) and close tracking. */
export async function connect(url: string, socketOptions?: SocketOptions): Promise<ChannelModel> {
  const conn = await amqp.connect(url, socketOptions)
  let lastError: AmqpError | undefined
  conn.on('error', (err: AmqpError) => {
    lastError = err
  })
  connectionClosed.set(
    conn,
    new Promise((resolve) => conn.once('close', (err?: AmqpError) => resolve(err ?? lastError))),
  )
  return conn
}

function trackChannel<C extends Channel>(ch: C): C {
  let lastError: AmqpError | undefined
  ch.on('error', (err: AmqpError) => {
    lastError = err
  })
  channelClosed.set(ch, new Promise((resolve) => ch.once('close', () => resolve(lastError))))
  return ch
}

export async function openChannel(conn: ChannelModel): Promise<Channel> {
  return trackChannel(await conn.createChannel())
}

export async function openConfirmChannel(conn: ChannelModel): Promise<ConfirmChannel> {
  return trackChannel(await conn.createConfirmChannel())
}

/** Resolves when the connection has closed, with the error that closed it (undefined for a clean close). */
export function whenConnectionClosed(conn: ChannelModel, ms = WAIT_MS): Promise<AmqpError | undefined> {
  const p = connectionClosed.get(conn)
  assert.ok(p, 'connection was not opened with helpers connect()')
  return withTimeout(p, ms, 'the connection to close')
}

/** Resolves when the channel has closed, with the server's error (undefined for a clean or connection close). */
export function whenChannelClosed(ch: Channel, ms = WAIT_MS): Promise<AmqpError | undefined> {
  const p = channelClosed.get(ch)
  assert.ok(p, 'channel was not opened with helpers openChannel()')
  return withTimeout(p, ms, 'the channel to close')
}

/** True once the channel has been closed (by either side). */
export async function isChannelClosed(ch: Channel): Promise<boolean> {
  const p = channelClosed.get(ch)
  assert.ok(p)
  return Promise.race([p.then(() => true), sleep(0).then(() => false)])
}

/**
 * Asserts that the broker closes the channel (only) with the given code and text. `op` is the operation
 * that triggers it: an RPC promise (which must reject with the same close), or a function for asynchronous
 * methods such as basic.publish or basic.ack, whose error arrives later as a channel.close.
 */
export async function expectChannelError(
  ch: Channel,
  op: Promise<unknown> | (() => unknown),
  expected: ExpectedClose,
): Promise<AmqpError> {
  if (typeof op === 'function') {
    op()
  } else {
    const rejection = await withTimeout(
      op.then(
        () => undefined,
        (err: unknown) => err,
      ),
      WAIT_MS,
      'the operation to fail',
    )
    assert.ok(rejection !== undefined, `operation succeeded; expected channel error ${expected.code}`)
    assertClose(rejection, expected, 'rejected operation')
  }
  const err = await whenChannelClosed(ch)
  assertClose(err, expected, 'channel close')
  return err as AmqpError
}

/**
 * Asserts that the broker closes the whole connection with the given code and text (a "hard" error in
 * RabbitMQ's terms). Pending RPCs on the connection are rejected by amqplib with a generic error.
 */
export async function expectConnectionError(
  conn: ChannelModel,
  op: Promise<unknown> | (() => unknown),
  expected: ExpectedClose,
): Promise<AmqpError> {
  if (typeof op === 'function') {
    op()
  } else {
    const rejected = await withTimeout(
      op.then(
        () => false,
        () => true,
      ),
      WAIT_MS,
      'the operation to fail',
    )
    assert.ok(rejected, `operation succeeded; expected connection error ${expected.code}`)
  }
  const err = await whenConnectionClosed(conn)
  assert.ok(err, 'connection closed without an error')
  assert.match(err.message, /^Connection closed: /)
  assertClose(err, expected, 'connection close')
  return err
}

/** A cheap RPC round trip on the channel: proves it is open and that earlier async methods were processed. */
export async function roundTrip(ch: Channel): Promise<void> {
  await withTimeout(ch.checkExchange('amq.direct'), WAIT_MS, 'a round trip on the channel')
}

// ---------------------------------------------------------------------------------------------------------
// Consuming

/** Collects the deliveries of one consumer; `null` from amqplib means the broker cancelled the consumer. */
export class Inbox {
  readonly messages: ConsumeMessage[] = []
  cancelled = false
  private waiters: Array<() => void> = []

  readonly onMessage = (msg: ConsumeMessage | null): void => {
    if (msg === null) this.cancelled = true
    else this.messages.push(msg)
    for (const w of this.waiters) w()
  }

  private async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    if (cond()) return
    let wake: () => void = () => {}
    const p = new Promise<void>((resolve) => {
      wake = () => {
        if (cond()) resolve()
      }
      this.waiters.push(wake)
    })
    try {
      await withTimeout(p, ms, what)
    } finally {
      this.waiters = this.waiters.filter((w) => w !== wake)
    }
  }

  /** Waits until at least n messages have arrived; returns the first n. */
  async waitFor(n: number, ms = WAIT_MS): Promise<ConsumeMessage[]> {
    await this.until(() => this.messages.length >= n, ms, `${n} deliveries (got ${this.messages.length})`)
    return this.messages.slice(0, n)
  }

  async waitForCancel(ms = WAIT_MS): Promise<void> {
    await this.until(() => this.cancelled, ms, 'the broker to cancel the consumer')
  }

  /** Asserts that the inbox still holds exactly `count` messages after `ms` (nothing more arrives). */
  async expectCount(count: number, ms = 150): Promise<void> {
    await sleep(ms)
    assert.equal(this.messages.length, count, 'unexpected number of deliveries')
  }

  bodies(): string[] {
    return this.messages.map((m) => m.content.toString())
  }
}

export async function consume(
  ch: Channel,
  queue: string,
  options?: Options.Consume,
): Promise<{ consumerTag: string; inbox: Inbox }> {
  const inbox = new Inbox()
  const { consumerTag } = await ch.consume(queue, inbox.onMessage, options)
  return { consumerTag, inbox }
}

/** basic.get until the queue holds nothing; returns the bodies. */
export async function drain(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = []
  for (;;) {
    const m = await ch.get(queue, { noAck: true })
    if (m === false) return out
    out.push(m.content.toString())
  }
}

/** Publishes several small messages to a queue through the default exchange. */
export function sendAll(ch: Channel, queue: string, bodies: string[], options?: Options.Publish): void {
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b), options)
}

/** queue.declare passive; the message count once the broker has caught up with earlier publishes. */
export async function waitForMessageCount(ch: Channel, queue: string, count: number): Promise<void> {
  let last = -1
  await eventually(
    async () => {
      last = (await ch.checkQueue(queue)).messageCount
      return last === count
    },
    () => `queue ${queue} to hold ${count} messages (last seen ${last})`,
  )
}

// ---------------------------------------------------------------------------------------------------------
// Methods amqplib can send but does not wrap (tx.*, channel.flow, basic.recover-async, ...). amqplib's
// channel model has an untyped rpc(methodId, fields, expectedReplyId) and sendImmediately(methodId, fields).

const mid = (classId: number, methodId: number): number => (classId << 16) | methodId

export const Method = {
  ChannelFlow: mid(20, 20),
  ChannelFlowOk: mid(20, 21),
  BasicQos: mid(60, 10),
  BasicQosOk: mid(60, 11),
  BasicPublish: mid(60, 40),
  BasicRecoverAsync: mid(60, 100),
  BasicRecover: mid(60, 110),
  BasicRecoverOk: mid(60, 111),
  ConfirmSelect: mid(85, 10),
  ConfirmSelectOk: mid(85, 11),
  TxSelect: mid(90, 10),
  TxSelectOk: mid(90, 11),
  TxCommit: mid(90, 20),
  TxCommitOk: mid(90, 21),
  TxRollback: mid(90, 30),
  TxRollbackOk: mid(90, 31),
} as const

interface RawChannel {
  rpc(method: number, fields: Record<string, unknown>, expect: number): Promise<Record<string, unknown>>
  sendImmediately(method: number, fields: Record<string, unknown>): boolean
  sendMessage(fields: Record<string, unknown>, properties: Record<string, unknown>, content: Buffer): boolean
}

export const raw = (ch: Channel): RawChannel => ch as unknown as RawChannel

export const txSelect = (ch: Channel) => raw(ch).rpc(Method.TxSelect, {}, Method.TxSelectOk)
export const txCommit = (ch: Channel) => raw(ch).rpc(Method.TxCommit, {}, Method.TxCommitOk)
export const txRollback = (ch: Channel) => raw(ch).rpc(Method.TxRollback, {}, Method.TxRollbackOk)
export const confirmSelect = (ch: Channel) =>
  raw(ch).rpc(Method.ConfirmSelect, { nowait: false }, Method.ConfirmSelectOk)
export const channelFlow = (ch: Channel, active: boolean) =>
  raw(ch).rpc(Method.ChannelFlow, { active }, Method.ChannelFlowOk)
export const basicQos = (ch: Channel, prefetchSize: number, prefetchCount: number, global: boolean) =>
  raw(ch).rpc(Method.BasicQos, { prefetchSize, prefetchCount, global }, Method.BasicQosOk)
export const basicRecover = (ch: Channel, requeue: boolean) =>
  raw(ch).rpc(Method.BasicRecover, { requeue }, Method.BasicRecoverOk)
export const basicRecoverAsync = (ch: Channel, requeue: boolean) =>
  raw(ch).sendImmediately(Method.BasicRecoverAsync, { requeue })

/** basic.publish with the `immediate` flag, which amqplib's publish() always clears. */
export function publishImmediate(ch: Channel, exchange: string, routingKey: string, body: Buffer): boolean {
  return raw(ch).sendMessage({ exchange, routingKey, mandatory: false, immediate: true }, {}, body)
}

/** The negotiated tuning values amqplib keeps on its connection object. */
export function tuning(conn: ChannelModel): { heartbeat: number; frameMax: number; channelMax: number } {
  const c = conn.connection as unknown as { heartbeat: number; frameMax: number; channelMax: number }
  return { heartbeat: c.heartbeat, frameMax: c.frameMax, channelMax: c.channelMax }
}

// ---------------------------------------------------------------------------------------------------------
// A raw handshake, for what amqplib does not report: amqplib turns a connection.close received while it
// waits for connection.open-ok into "Expected ConnectionOpenOk; got <ConnectionClose channel:0>", without
// the code or text. This speaks the handshake with amqplib's own codec and reports the frames.

interface Frame {
  id?: number
  channel: number
  fields?: Record<string, unknown>
}
interface Defs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer
  info(id: number): { name: string }
}
interface Framing {
  PROTOCOL_HEADER: string
  parseFrame(buf: Buffer, max: number): { rest: Buffer } | false
  decodeFrame(frame: unknown): Frame
}

const requireCjs = createRequire(import.meta.url)
// amqplib's package exports do not expose lib/, so load the files by path
const amqplibDir = dirname(requireCjs.resolve('amqplib'))
const defs = requireCjs(join(amqplibDir, 'lib', 'defs.js')) as Defs
const framing = requireCjs(join(amqplibDir, 'lib', 'frame.js')) as Framing

export interface HandshakeOptions {
  host: string
  port: number
  user?: string
  pass?: string
  vhost?: string
  frameMax?: number
  channelMax?: number
  heartbeat?: number
}

export interface HandshakeResult {
  /** names of the methods received, in order (e.g. ConnectionStart, ConnectionTune, ConnectionClose) */
  methods: string[]
  tune?: { channelMax: number; frameMax: number; heartbeat: number }
  close?: { replyCode: number; replyText: string; classId: number; methodId: number }
  opened: boolean
}

export function rawHandshake(options: HandshakeOptions): Promise<HandshakeResult> {
  const C = {
    Start: mid(10, 10),
    StartOk: mid(10, 11),
    Tune: mid(10, 30),
    TuneOk: mid(10, 31),
    Open: mid(10, 40),
    OpenOk: mid(10, 41),
    Close: mid(10, 50),
    CloseOk: mid(10, 51),
  }
  const result: HandshakeResult = { methods: [], opened: false }
  return withTimeout(
    new Promise<HandshakeResult>((resolve) => {
      const socket = net.connect(options.port, options.host)
      let rest: Buffer = Buffer.alloc(0)
      const send = (id: number, fields: Record<string, unknown>) => socket.write(defs.encodeMethod(id, 0, fields))
      socket.on('data', (data: Buffer) => {
        rest = Buffer.concat([rest, data])
        for (;;) {
          const parsed = framing.parseFrame(rest, 1 << 20)
          if (!parsed) break
          rest = parsed.rest
          const f = framing.decodeFrame(parsed)
          if (f.id === undefined) continue // heartbeat
          result.methods.push(defs.info(f.id).name)
          const fields = f.fields ?? {}
          if (f.id === C.Start) {
            send(C.StartOk, {
              clientProperties: { product: 'warren-test', capabilities: { authentication_failure_close: true } },
              mechanism: 'PLAIN',
              response: Buffer.from(`\0${options.user ?? 'guest'}\0${options.pass ?? 'guest'}`),
              locale: 'en_US',
            })
          } else if (f.id === C.Tune) {
            result.tune = fields as HandshakeResult['tune']
            send(C.TuneOk, {
              channelMax: options.channelMax ?? result.tune!.channelMax,
              frameMax: options.frameMax ?? result.tune!.frameMax,
              heartbeat: options.heartbeat ?? 0,
            })
            send(C.Open, { virtualHost: options.vhost ?? '/', capabilities: '', insist: false })
          } else if (f.id === C.OpenOk) {
            result.opened = true
            send(C.Close, { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })
          } else if (f.id === C.Close) {
            result.close = fields as HandshakeResult['close']
            send(C.CloseOk, {})
            socket.end()
          } else if (f.id === C.CloseOk) {
            socket.end()
          }
        }
      })
      socket.on('error', () => {})
      socket.on('close', () => resolve(result))
      socket.write(framing.PROTOCOL_HEADER)
    }),
    15_000,
    'the raw handshake to finish',
  )
}

// ---------------------------------------------------------------------------------------------------------
// Names and cleanup. Several test files share one broker in external mode, so every name carries a per-run
// random part; everything a test names through the scope is deleted at the end of the file.

export class Scope {
  readonly run = randomBytes(4).toString('hex')
  private counter = 0
  private readonly queues = new Set<string>()
  private readonly exchanges = new Set<string>()
  private readonly connections = new Set<ChannelModel>()

  constructor(
    readonly url: string,
    readonly area: string,
  ) {}

  name(prefix: string): string {
    return `warren-test.${this.area}.${prefix}.${this.run}.${++this.counter}`
  }

  /** A unique queue name, deleted at cleanup. */
  queue(prefix = 'q'): string {
    return this.trackQueue(this.name(prefix))
  }

  /** A unique exchange name, deleted at cleanup. */
  exchange(prefix = 'x'): string {
    return this.trackExchange(this.name(prefix))
  }

  trackQueue(name: string): string {
    this.queues.add(name)
    return name
  }

  trackExchange(name: string): string {
    this.exchanges.add(name)
    return name
  }

  /** A connection closed at cleanup (if the test has not closed it). */
  async connect(socketOptions?: SocketOptions, url = this.url): Promise<ChannelModel> {
    const conn = await connect(url, socketOptions)
    this.connections.add(conn)
    conn.once('close', () => this.connections.delete(conn))
    return conn
  }

  /** A fresh connection with one channel. */
  async open(): Promise<{ conn: ChannelModel; ch: Channel }> {
    const conn = await this.connect()
    return { conn, ch: await openChannel(conn) }
  }

  async openConfirm(): Promise<{ conn: ChannelModel; ch: ConfirmChannel }> {
    const conn = await this.connect()
    return { conn, ch: await openConfirmChannel(conn) }
  }

  async cleanup(): Promise<void> {
    for (const conn of [...this.connections]) {
      await withTimeout(conn.close(), WAIT_MS, 'a connection to close').catch(() => {})
    }
    this.connections.clear()
    if (this.queues.size === 0 && this.exchanges.size === 0) return
    const conn = await connect(this.url)
    let ch = await openChannel(conn)
    const attempt = async (op: (c: Channel) => Promise<unknown>) => {
      try {
        await withTimeout(op(ch), WAIT_MS, 'a cleanup operation')
      } catch {
        // a missing resource may close the channel on a broker that differs from RabbitMQ; carry on
        if (await isChannelClosed(ch)) ch = await openChannel(conn)
      }
    }
    for (const q of this.queues) await attempt((c) => c.deleteQueue(q))
    for (const x of this.exchanges) await attempt((c) => c.deleteExchange(x))
    this.queues.clear()
    this.exchanges.clear()
    await conn.close().catch(() => {})
  }
}
