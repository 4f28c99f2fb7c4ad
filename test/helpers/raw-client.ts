// A tiny raw AMQP 0-9-1 client for hostile tests: it speaks the protocol with Warren's own codec
// (Writer + encodeMethod to send, FrameParser + decodeMethod to receive), so a test can send exactly the
// bytes it wants — a wrong protocol header, a frame larger than frame_max, a bad frame-end octet, a
// body frame out of nowhere — and see exactly what the server answers and whether it closes the connection.
// It runs over a TCP socket (RawClient.connect) or over any Duplex stream (RawClient.over), e.g. one side of
// test/helpers/stream-pair.ts whose other side is given to broker.handle().
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { encodeTable } from '../../src/protocol/field-table.js'
import type { FieldTable } from '../../src/protocol/field-value.js'
import { FrameParser, withPayload } from '../../src/protocol/frame-parser.js'
import { decodeMethod, encodeMethod, type Method, type MethodName } from '../../src/protocol/generated/methods.js'
import { encodeBasicProperties, type BasicProperties } from '../../src/protocol/generated/properties.js'
import { Reader } from '../../src/protocol/reader.js'
import {
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  Writer,
} from '../../src/protocol/writer.js'

export const AMQP_0_9_1_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')

export interface RawFrame {
  type: number
  channel: number
  payload: Buffer
  /** The decoded method, for method frames */
  method?: Method
}

export type MethodOf<N extends MethodName> = Extract<Method, { name: N }>

/** How a connection ended, as seen by the client. */
export interface CloseResult {
  /** The connection.close the server sent, if any */
  close: MethodOf<'connection.close'> | undefined
  /** Every frame received before the close, in order (heartbeats included) */
  frames: RawFrame[]
  /** Whether the server closed the socket (or ended the stream) after the close handshake */
  socketClosed: boolean
}

export interface HandshakeOptions {
  mechanism?: string
  /** The start-ok response; PLAIN guest/guest when omitted */
  response?: Buffer
  vhost?: string
  /** frame_max to answer in tune-ok (the server's when omitted) */
  frameMax?: number
  channelMax?: number
  heartbeat?: number
  clientProperties?: FieldTable
}

export interface Tune {
  channelMax: number
  frameMax: number
  heartbeat: number
}

const DEFAULT_WAIT_MS = 3000

/** The start-ok response for PLAIN: authzid NUL authcid NUL password. */
export function plainResponse(user: string, pass: string): Buffer {
  return Buffer.from(`\u0000${user}\u0000${pass}`, 'utf8')
}

/** The start-ok response for AMQPLAIN: a field table with LOGIN and PASSWORD, without its length prefix. */
export function amqplainResponse(fields: FieldTable): Buffer {
  return Buffer.from(encodeTable(fields).subarray(4))
}

/** One whole frame as bytes: type, channel, size, payload, frame-end (or any end octet, to be hostile). */
export function rawFrame(type: number, channel: number, payload: Buffer, end = FRAME_END): Buffer {
  const frame = Buffer.alloc(8 + payload.length)
  frame[0] = type
  frame.writeUInt16BE(channel, 1)
  frame.writeUInt32BE(payload.length, 3)
  payload.copy(frame, 7)
  frame[7 + payload.length] = end
  return frame
}

/** The bytes of a method frame, encoded with Warren's codec. */
export function methodFrame(channel: number, method: Method): Buffer {
  const w = new Writer(256)
  encodeMethod(w, channel, method)
  return Buffer.concat(w.take())
}

/** A method frame payload for any class and method id, with arbitrary argument bytes. */
export function methodPayload(classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
  const p = Buffer.alloc(4 + args.length)
  p.writeUInt16BE(classId, 0)
  p.writeUInt16BE(methodId, 2)
  args.copy(p, 4)
  return p
}

/** The bytes of a content header frame for class basic. */
export function headerFrame(channel: number, bodySize: number, properties: BasicProperties = {}): Buffer {
  const w = new Writer(256, true)
  w.u16(60)
  w.u16(0)
  w.u64(bodySize)
  encodeBasicProperties(w, properties)
  return rawFrame(FRAME_HEADER, channel, Buffer.from(w.view()))
}

export function bodyFrame(channel: number, body: Buffer): Buffer {
  return rawFrame(FRAME_BODY, channel, body)
}

export function heartbeatFrame(channel = 0): Buffer {
  return rawFrame(FRAME_HEARTBEAT, channel, Buffer.alloc(0))
}

/** S: the stream the client speaks over; a net.Socket when made by connect() or open(). */
export class RawClient<S extends Duplex = net.Socket> {
  /** Every byte received, in order (the only way to see a protocol-header reply) */
  readonly received: Buffer[] = []
  private readonly frames: RawFrame[] = []
  private waiter: (() => void) | undefined
  private readonly parser: FrameParser
  private parseError: unknown
  private ended = false
  /** Resolves when the server has ended the connection, or the stream has closed (either side) */
  readonly closed: Promise<void>
  /** The server's connection.tune, once the handshake got that far */
  tune: Tune | undefined

  private constructor(
    /** The socket or stream to the server */
    readonly stream: S,
    parseFrames: boolean,
  ) {
    // The server may send frames up to the frame_max it offers; accept anything sane
    this.parser = new FrameParser(
      withPayload((type, channel, payload) => this.onFrame(type, channel, payload)),
      16 * 1024 * 1024,
    )
    // The end of what the server sends is the server closing: a socket closes then, but a stream that allows
    // half-open connections would only close once this side ends too
    this.closed = new Promise((resolve) => {
      const ended = () => {
        this.ended = true
        this.wake()
        resolve()
      }
      stream.once('end', ended)
      stream.once('close', ended)
    })
    stream.on('data', (chunk: Buffer) => {
      this.received.push(chunk)
      if (!parseFrames || this.parseError !== undefined) return
      try {
        this.parser.push(chunk)
      } catch (err) {
        this.parseError = err
      }
      this.wake()
    })
    stream.on('error', () => {}) // ECONNRESET after a server-side destroy is expected in these tests
  }

  /** A client over a stream already connected to the server; with parseFrames=false as connect(). */
  static over<S extends Duplex>(stream: S, parseFrames = true): RawClient<S> {
    return new RawClient(stream, parseFrames)
  }

  /** Connects; with parseFrames=false the bytes are only collected in `received`. */
  static connect(port: number, host = '127.0.0.1', parseFrames = true): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host)
      socket.setNoDelay(true)
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new RawClient(socket, parseFrames))
      })
    })
  }

  /** Connects and completes the handshake (PLAIN guest/guest unless told otherwise), up to open-ok. */
  static async open(port: number, host = '127.0.0.1', options: HandshakeOptions = {}): Promise<RawClient> {
    return RawClient.openOver(await RawClient.connect(port, host), options)
  }

  /** Completes the handshake of a client made by over() or connect(), up to open-ok. */
  static async openOver<S extends Duplex>(client: RawClient<S>, options: HandshakeOptions = {}): Promise<RawClient<S>> {
    const m = await client.handshake(options)
    if (m.name !== 'connection.open-ok') {
      client.destroy()
      throw new Error(`handshake failed: ${describe(m)}`)
    }
    return client
  }

  get isClosed(): boolean {
    return this.ended
  }

  /** All bytes received so far, concatenated. */
  get receivedBytes(): Buffer {
    return Buffer.concat(this.received)
  }

  private onFrame(type: number, channel: number, payload: Buffer): void {
    const frame: RawFrame = { type, channel, payload: Buffer.from(payload) }
    if (type === FRAME_METHOD) frame.method = decodeMethod(new Reader(frame.payload))
    this.frames.push(frame)
  }

  private wake(): void {
    const w = this.waiter
    this.waiter = undefined
    w?.()
  }

  write(bytes: Buffer): void {
    if (!this.stream.destroyed) this.stream.write(bytes)
  }

  send(channel: number, method: Method): void {
    this.write(methodFrame(channel, method))
  }

  sendHeader(channel: number, bodySize: number, properties: BasicProperties = {}): void {
    this.write(headerFrame(channel, bodySize, properties))
  }

  sendBody(channel: number, body: Buffer): void {
    this.write(bodyFrame(channel, body))
  }

  /** basic.publish + content header + one body frame. */
  publish(channel: number, exchange: string, routingKey: string, body: Buffer, properties: BasicProperties = {}): void {
    this.write(
      Buffer.concat([
        methodFrame(channel, { name: 'basic.publish', exchange, routingKey, mandatory: false, immediate: false }),
        headerFrame(channel, body.length, properties),
        ...(body.length > 0 ? [bodyFrame(channel, body)] : []),
      ]),
    )
  }

  /** The next frame, skipping none; rejects if the connection ends or nothing arrives in time. */
  async nextFrame(ms = DEFAULT_WAIT_MS): Promise<RawFrame> {
    const deadline = Date.now() + ms
    for (;;) {
      const f = this.frames.shift()
      if (f) return f
      if (this.parseError !== undefined) throw this.parseError
      if (this.ended) throw new Error('the server closed the connection while waiting for a frame')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no frame within ${ms} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  /** The next method frame (heartbeats are skipped). */
  async nextMethod(ms = DEFAULT_WAIT_MS): Promise<Method & { channel: number }> {
    for (;;) {
      const f = await this.nextFrame(ms)
      if (f.method) return Object.assign(f.method, { channel: f.channel })
      if (f.type !== FRAME_HEARTBEAT) throw new Error(`expected a method frame, got frame type ${f.type}`)
    }
  }

  /** The next method, which must be `name`. */
  async expect<N extends MethodName>(name: N, ms = DEFAULT_WAIT_MS): Promise<MethodOf<N> & { channel: number }> {
    const m = await this.nextMethod(ms)
    if (m.name !== name) throw new Error(`expected ${name}, got ${describe(m)}`)
    return m as MethodOf<N> & { channel: number }
  }

  /** Waits until the server has closed the connection, collecting whatever raw bytes it sent. */
  async waitSocketClosed(ms = DEFAULT_WAIT_MS): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))
    const result = await Promise.race([this.closed.then(() => true), timedOut])
    clearTimeout(timer)
    return result
  }

  /**
   * Reads frames until the server's connection.close, answers close-ok and waits for the socket to
   * close. If the server closes the socket without connection.close, `close` is undefined.
   */
  async waitForClose(ms = DEFAULT_WAIT_MS): Promise<CloseResult> {
    const frames: RawFrame[] = []
    let close: MethodOf<'connection.close'> | undefined
    try {
      for (;;) {
        const f = await this.nextFrame(ms)
        if (f.method?.name === 'connection.close' && f.channel === 0) {
          close = f.method
          break
        }
        frames.push(f)
      }
    } catch {
      // the socket closed without a connection.close, or nothing came in time
    }
    if (!close) return { close, frames, socketClosed: this.ended }
    this.send(0, { name: 'connection.close-ok' })
    const socketClosed = await this.waitSocketClosed(ms)
    return { close, frames, socketClosed }
  }

  /** Runs the handshake; returns connection.open-ok, or the connection.close that ended it. */
  async handshake(options: HandshakeOptions = {}): Promise<Method> {
    this.write(AMQP_0_9_1_HEADER)
    await this.expect('connection.start')
    this.send(0, {
      name: 'connection.start-ok',
      clientProperties: options.clientProperties ?? {
        product: 'warren raw test client',
        capabilities: { authentication_failure_close: true },
      },
      mechanism: options.mechanism ?? 'PLAIN',
      response: options.response ?? plainResponse('guest', 'guest'),
      locale: 'en_US',
    })
    const tune = await this.nextMethod()
    if (tune.name !== 'connection.tune') return tune
    this.tune = { channelMax: tune.channelMax, frameMax: tune.frameMax, heartbeat: tune.heartbeat }
    this.send(0, {
      name: 'connection.tune-ok',
      channelMax: options.channelMax ?? tune.channelMax,
      frameMax: options.frameMax ?? tune.frameMax,
      heartbeat: options.heartbeat ?? 0,
    })
    this.send(0, { name: 'connection.open', virtualHost: options.vhost ?? '/' })
    return this.nextMethod()
  }

  /** channel.open and its open-ok. */
  async openChannel(channel: number): Promise<void> {
    this.send(channel, { name: 'channel.open' })
    const m = await this.nextMethod()
    if (m.name !== 'channel.open-ok' || m.channel !== channel) {
      throw new Error(`expected channel.open-ok on ${channel}, got ${describe(m)} on ${m.channel}`)
    }
  }

  /** A clean close: connection.close, wait for close-ok. */
  async close(): Promise<void> {
    if (this.ended) return
    this.send(0, { name: 'connection.close', replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })
    try {
      for (;;) {
        const m = await this.nextMethod(1000)
        if (m.name === 'connection.close-ok') break
      }
    } catch {
      // already gone
    }
    this.destroy()
  }

  destroy(): void {
    this.stream.destroy()
  }
}

/** A method for messages: its name and, for closes, the code and text. */
export function describe(m: Method): string {
  if (m.name === 'connection.close' || m.name === 'channel.close') {
    return `${m.name} ${m.replyCode} '${m.replyText}' (${m.classId}, ${m.methodId})`
  }
  return m.name
}
