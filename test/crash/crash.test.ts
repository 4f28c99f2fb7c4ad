// kill -9 while publishing and consuming, several times over, on the same data directory.
//
// Three publishers (one connection and one confirm channel each) publish persistent messages with unique
// ids at full speed, at most WINDOW unconfirmed each, to two durable queues: `crash.q1` through the default
// exchange, `crash.q2` through the durable topic exchange `crash.topic`, and a third of the messages to both
// (topic binding `both.*` on each queue). In some rounds a consumer takes messages from both queues and acks
// most of them. At a random moment the broker is killed with SIGKILL; it is restarted on the same data
// directory and the next round publishes new ids. At the end the broker is restarted once more and both
// queues are drained. Then:
//
// - every confirmed message is in each of its queues, unless a consumer acked that copy;
// - a copy delivered more than once (across all rounds and the final drain) has redelivered=true every time
//   after the first;
// - no body or property is damaged, no message is in a queue it was not routed to, none is there twice;
// - within a queue, each publisher's messages come back in publish order; the broker's count of recovered
//   messages matches what the queues deliver;
// - no publish was nacked or returned as unroutable (durable bindings come back after each crash).
//
// Messages never confirmed may or may not be there. Set WARREN_CRASH_SEED to replay the same kill delays.
// The figures (confirmed, recovered, duplicates, unconfirmed-but-present...) are printed as test diagnostics.
//
// A second test runs one round of the same load and stops the broker with SIGTERM instead: every client is
// told 320 CONNECTION_FORCED, the process exits 0, and after the restart a copy comes back with
// redelivered=true only if the broker had delivered it.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { after, describe, test, type TestContext } from 'node:test'
import amqp from 'amqplib'
import type { Channel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib'
import { sleep } from '../helpers/amqplib.js'
import { startBrokerProcess, stopAllBrokerProcesses, type BrokerProcess } from '../helpers/broker-process.js'

const ROUNDS = 5
const PUBLISHERS = 3
/** Unconfirmed publishes per publisher */
const WINDOW = 500
/** Rounds (0-based) in which a consumer runs alongside the publishers */
const CONSUMING_ROUNDS = new Set([1, 3])
const ROUND_PREFETCH = 2000
const FINAL_PREFETCH = 1000
const KILL_MIN_MS = 200
const KILL_MAX_MS = 1500

const Q1 = 'crash.q1'
const Q2 = 'crash.q2'
const TOPIC = 'crash.topic'
type QueueName = typeof Q1 | typeof Q2

// ---------------------------------------------------------------------------------------------------------
// Messages: everything about one is derived from its id, so a delivery can be checked on its own

interface Id {
  round: number
  pub: number
  seq: number
}

const idText = (id: Id): string => `${id.round}.${id.pub}.${id.seq}`

function parseId(text: string): Id | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(text)
  return m ? { round: Number(m[1]), pub: Number(m[2]), seq: Number(m[3]) } : undefined
}

/** seq % 3: 0 → crash.q1 via the default exchange, 1 → crash.q2 via the topic exchange, 2 → both */
function routeOf(seq: number): { exchange: string; routingKey: string; queues: QueueName[] } {
  switch (seq % 3) {
    case 0:
      return { exchange: '', routingKey: Q1, queues: [Q1] }
    case 1:
      return { exchange: TOPIC, routingKey: `one.${seq}`, queues: [Q2] }
    default:
      return { exchange: TOPIC, routingKey: `both.${seq}`, queues: [Q1, Q2] }
  }
}

function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** `<id>|` then bytes derived from the id; mostly small, one in 200 over 64 KiB (several frames) */
function bodyOf(id: Id): Buffer {
  const text = idText(id)
  const size = id.seq % 200 === 199 ? 70_000 + (hash32(text) % 60_000) : 16 + (hash32(text) % 1500)
  const body = Buffer.alloc(size)
  const head = body.write(`${text}|`)
  const seed = createHash('sha256').update(text).digest()
  for (let i = head; i < size; i += seed.length) seed.copy(body, i, 0, Math.min(seed.length, size - i))
  return body
}

function propertiesOf(id: Id): Options.Publish {
  return {
    persistent: true,
    mandatory: true,
    messageId: idText(id),
    correlationId: `c-${id.seq}`,
    contentType: 'application/octet-stream',
    headers: { 'x-id': idText(id), 'x-round': id.round, 'x-publisher': id.pub },
  }
}

/** What is wrong with a delivery (undefined: nothing), and its id when it can be told. */
function checkDelivery(queue: QueueName, msg: ConsumeMessage): { id?: string; problem?: string } {
  const bar = msg.content.indexOf('|')
  const text = bar > 0 ? msg.content.subarray(0, bar).toString('latin1') : ''
  const id = parseId(text)
  if (!id) return { problem: `body does not start with an id: ${msg.content.subarray(0, 40).toString('hex')}` }
  const problems: string[] = []
  if (!bodyOf(id).equals(msg.content)) problems.push(`body damaged (${msg.content.length} bytes)`)
  const p = msg.properties
  const expected = propertiesOf(id)
  if (p.messageId !== expected.messageId) problems.push(`message-id ${String(p.messageId)}`)
  if (p.correlationId !== expected.correlationId) problems.push(`correlation-id ${String(p.correlationId)}`)
  if (p.deliveryMode !== 2) problems.push(`delivery-mode ${String(p.deliveryMode)}`)
  if (p.contentType !== expected.contentType) problems.push(`content-type ${String(p.contentType)}`)
  const h = (p.headers ?? {}) as Record<string, unknown>
  if (h['x-id'] !== text || h['x-round'] !== id.round || h['x-publisher'] !== id.pub)
    problems.push(`headers ${JSON.stringify(h)}`)
  const route = routeOf(id.seq)
  if (!route.queues.includes(queue)) problems.push(`delivered from ${queue}, routed only to ${route.queues.join(',')}`)
  if (msg.fields.exchange !== route.exchange || msg.fields.routingKey !== route.routingKey)
    problems.push(`exchange/routing key ${msg.fields.exchange}/${msg.fields.routingKey}`)
  return problems.length ? { id: text, problem: problems.join('; ') } : { id: text }
}

// ---------------------------------------------------------------------------------------------------------
// What the test saw

interface Delivery {
  /** 0..ROUNDS-1, or ROUNDS for the final drain */
  round: number
  redelivered: boolean
}

class Ledger {
  readonly published = new Set<string>()
  readonly confirmed = new Set<string>()
  readonly nacked = new Set<string>()
  readonly returned: string[] = []
  /** `${queue} ${id}` → every delivery of that copy, in order */
  readonly deliveries = new Map<string, Delivery[]>()
  /** `${queue} ${id}`: copies a consumer acked (the ack may still be lost in a crash) */
  readonly acked = new Set<string>()
  readonly damaged: string[] = []
  /** deliveries after the first of the same copy that came with redelivered=false */
  readonly notRedelivered: string[] = []

  /** Records a delivery; returns the id when the message is intact. */
  deliver(queue: QueueName, msg: ConsumeMessage, round: number): string | undefined {
    const { id, problem } = checkDelivery(queue, msg)
    if (problem) {
      this.damaged.push(`${queue} ${id ?? '?'} (round ${round}): ${problem}`)
      return undefined
    }
    const key = `${queue} ${id!}`
    let list = this.deliveries.get(key)
    if (!list) this.deliveries.set(key, (list = []))
    if (list.length > 0 && !msg.fields.redelivered) {
      const before = list.map((d) => `round ${d.round}${d.redelivered ? ' (redelivered)' : ''}`).join(', ')
      this.notRedelivered.push(`${key}: delivered in ${before}, then in round ${round} with redelivered=false`)
    }
    list.push({ round, redelivered: msg.fields.redelivered })
    return id
  }
}

interface RoundStats {
  round: number
  killAfterMs: number
  /** from the start of publishing to the first confirm (undefined: none came) */
  firstConfirmMs: number | undefined
  published: number
  confirmed: number
  delivered: number
  acked: number
}

// ---------------------------------------------------------------------------------------------------------
// Publishers and consumers

interface Publisher {
  /** starts publishing at full speed, until the connection dies */
  go(): void
  /** resolves once the connection has died, with the error amqplib reported */
  readonly done: Promise<Error | undefined>
  firstConfirmAt: number | undefined
}

/** Connects and opens a confirm channel; publishing starts with go(). */
async function openPublisher(url: string, round: number, pub: number, ledger: Ledger): Promise<Publisher> {
  const conn = await amqp.connect(url)
  let closed = false
  let wake: (() => void) | undefined
  const done = new Promise<Error | undefined>((resolve) =>
    conn.once('close', (err?: Error) => {
      closed = true
      wake?.()
      resolve(err)
    }),
  )
  conn.on('error', () => {})
  const ch: ConfirmChannel = await conn.createConfirmChannel()
  ch.on('error', () => {})
  ch.on('return', (msg: ConsumeMessage) => ledger.returned.push(String(msg.properties.messageId)))
  let outstanding = 0
  const publisher: Publisher = { go: () => void loop(), done, firstConfirmAt: undefined }
  const loop = async () => {
    for (let seq = 0; !closed; seq++) {
      while (outstanding >= WINDOW && !closed) await new Promise<void>((resolve) => (wake = resolve))
      if (closed) break
      const id: Id = { round, pub, seq }
      const text = idText(id)
      const route = routeOf(seq)
      ledger.published.add(text)
      outstanding++
      try {
        ch.publish(route.exchange, route.routingKey, bodyOf(id), propertiesOf(id), (err: Error | null) => {
          outstanding--
          if (err === null) {
            ledger.confirmed.add(text)
            publisher.firstConfirmAt ??= Date.now()
          } else if (err.message === 'message nacked') ledger.nacked.add(text)
          const w = wake
          wake = undefined
          w?.()
        })
      } catch {
        break // the channel closed under us
      }
      // let confirms and the other connections' I/O in, even when the window never fills
      if (seq % 100 === 99) await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }
  return publisher
}

/**
 * Consumes from both queues with manual acks until the connection dies. One copy in five is left unacked
 * the first time it is delivered (it must come back after the crash); copies seen before are acked.
 */
async function consume(
  url: string,
  round: number,
  ledger: Ledger,
): Promise<{ done: Promise<Error | undefined>; stats: { delivered: number; acked: number } }> {
  const stats = { delivered: 0, acked: 0 }
  const conn = await amqp.connect(url)
  conn.on('error', () => {})
  const done = new Promise<Error | undefined>((resolve) => conn.once('close', (err?: Error) => resolve(err)))
  const ch: Channel = await conn.createChannel()
  ch.on('error', () => {})
  await ch.prefetch(ROUND_PREFETCH)
  for (const queue of [Q1, Q2] as const) {
    await ch.consume(queue, (msg) => {
      if (!msg) return
      stats.delivered++
      const id = ledger.deliver(queue, msg, round)
      const key = `${queue} ${id}`
      if (id !== undefined && ledger.deliveries.get(key)!.length === 1 && hash32(key) % 5 === 0) return
      try {
        ch.ack(msg)
        if (id !== undefined) ledger.acked.add(key)
        stats.acked++
      } catch {
        // the broker is gone
      }
    })
  }
  return { done, stats }
}

/** Takes every message of a queue (no publishers are running), acking them all. */
async function drain(url: string, queue: QueueName, ledger: Ledger): Promise<string[]> {
  const conn = await amqp.connect(url)
  conn.on('error', () => {})
  try {
    const ch = await conn.createChannel()
    const { messageCount } = await ch.checkQueue(queue)
    await ch.prefetch(FINAL_PREFETCH)
    const ids: string[] = []
    let received = 0
    let extra = 0
    let wake: (() => void) | undefined
    await ch.consume(queue, (msg) => {
      if (!msg) return
      if (received >= messageCount) extra++
      received++
      const id = ledger.deliver(queue, msg, ROUNDS)
      if (id !== undefined) ids.push(id)
      ch.ack(msg)
      if (received >= messageCount) wake?.()
    })
    const deadline = Date.now() + 30_000
    while (received < messageCount && Date.now() < deadline) {
      await Promise.race([new Promise<void>((resolve) => (wake = resolve)), sleep(500)])
    }
    assert.equal(received, messageCount, `${queue}: queue.declare said ${messageCount} messages, ${received} came`)
    await sleep(200) // anything beyond messageCount would show up now
    assert.equal(extra, 0, `${queue}: ${extra} deliveries beyond the ${messageCount} messages the queue reported`)
    const left = await ch.checkQueue(queue)
    assert.equal(left.messageCount, 0, `${queue}: messages left after draining`)
    return ids
  } finally {
    await conn.close().catch(() => {})
  }
}

function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function listSome(items: string[], max = 20): string {
  return items.slice(0, max).join('\n  ') + (items.length > max ? `\n  ... and ${items.length - max} more` : '')
}

// ---------------------------------------------------------------------------------------------------------

async function declareTopology(url: string): Promise<void> {
  const conn = await amqp.connect(url)
  const ch = await conn.createChannel()
  await ch.assertQueue(Q1, { durable: true })
  await ch.assertQueue(Q2, { durable: true })
  await ch.assertExchange(TOPIC, 'topic', { durable: true })
  await ch.bindQueue(Q2, TOPIC, 'one.*')
  await ch.bindQueue(Q2, TOPIC, 'both.*')
  await ch.bindQueue(Q1, TOPIC, 'both.*')
  await conn.close()
}

/**
 * One round: publishers at full speed (and a consumer if asked), then the broker is stopped with `signal`
 * after `stopAfterMs`. Returns the round's figures and the errors the connections closed with.
 */
async function runRound(
  broker: BrokerProcess,
  round: number,
  ledger: Ledger,
  options: { stopAfterMs: number; consume: boolean; signal: 'SIGKILL' | 'SIGTERM' },
): Promise<{ stats: RoundStats; closeErrors: (Error | undefined)[] }> {
  const publishedBefore = ledger.published.size
  const confirmedBefore = ledger.confirmed.size
  const publishers = await Promise.all(
    Array.from({ length: PUBLISHERS }, (_, pub) => openPublisher(broker.url, round, pub, ledger)),
  )
  const consumer = options.consume ? await consume(broker.url, round, ledger) : undefined
  const startedAt = Date.now()
  for (const p of publishers) p.go()
  await sleep(options.stopAfterMs)
  if (options.signal === 'SIGKILL') {
    const exit = await broker.crash()
    assert.equal(exit.signal, 'SIGKILL', `round ${round}: the broker exited on its own (${JSON.stringify(exit)})`)
  } else {
    const exit = await broker.stop()
    assert.deepEqual(exit, { code: 0, signal: null }, `round ${round}: exit after SIGTERM; ${broker.stderr()}`)
  }
  const closeErrors = await withDeadline(
    Promise.all([...publishers.map((p) => p.done), ...(consumer ? [consumer.done] : [])]),
    15_000,
    `round ${round}: the clients to notice that the broker is gone`,
  )
  const stats: RoundStats = {
    round,
    killAfterMs: options.stopAfterMs,
    firstConfirmMs: firstOf(
      publishers.map((p) => p.firstConfirmAt),
      startedAt,
    ),
    published: ledger.published.size - publishedBefore,
    confirmed: ledger.confirmed.size - confirmedBefore,
    delivered: consumer?.stats.delivered ?? 0,
    acked: consumer?.stats.acked ?? 0,
  }
  return { stats, closeErrors }
}

interface Outcome {
  /** `${queue} ${id}` of every copy taken in the final drain, with its redelivered flag */
  final: Map<string, boolean>
  recovered: number
}

/** Restarts the broker, drains both queues, stops it, and checks what came back against the ledger. */
async function finalCheck(
  t: TestContext,
  broker: BrokerProcess,
  ledger: Ledger,
  rounds: RoundStats[],
  started: number,
): Promise<Outcome> {
  broker = await broker.restart()
  const recoveredLine = broker.logs().find((l) => l.msg === 'durable state recovered')
  const finalIds = new Map<QueueName, string[]>()
  for (const queue of [Q1, Q2] as const) finalIds.set(queue, await drain(broker.url, queue, ledger))
  const exit = await broker.stop()
  assert.deepEqual(exit, { code: 0, signal: null }, 'the final broker stops cleanly on SIGTERM')

  // ---- the figures
  const final = new Map<string, boolean>()
  const duplicatesInFinal: string[] = []
  const outOfOrder: string[] = []
  for (const [queue, ids] of finalIds) {
    const lastSeq = new Map<string, number>()
    for (const text of ids) {
      const key = `${queue} ${text}`
      if (final.has(key)) duplicatesInFinal.push(key)
      const list = ledger.deliveries.get(key)!
      final.set(key, list[list.length - 1]!.redelivered)
      const id = parseId(text)!
      const stream = `${id.round}.${id.pub}`
      const last = lastSeq.get(stream) ?? -1
      if (id.seq <= last) outOfOrder.push(`${queue}: ${text} after ${stream}.${last}`)
      lastSeq.set(stream, id.seq)
    }
  }
  const missing: string[] = []
  let confirmedCopies = 0
  for (const text of ledger.confirmed) {
    for (const queue of routeOf(parseId(text)!.seq).queues) {
      confirmedCopies++
      const key = `${queue} ${text}`
      if (final.has(key) || ledger.acked.has(key)) continue
      const seen = ledger.deliveries.get(key)
      missing.push(
        `${key}` +
          (seen
            ? ` (delivered before in rounds ${seen.map((d) => d.round).join(',')}, not acked)`
            : ' (never delivered)'),
      )
    }
  }
  const finalKeys = [...final.keys()]
  const unconfirmedPresent = finalKeys.filter((key) => !ledger.confirmed.has(key.split(' ')[1]!)).length
  const ackedCameBack = finalKeys.filter((key) => ledger.acked.has(key)).length
  const duplicates = [...ledger.deliveries.values()].filter((list) => list.length > 1).length
  const unknown = finalKeys.filter((key) => !ledger.published.has(key.split(' ')[1]!))

  for (const r of rounds) {
    t.diagnostic(
      `round ${r.round}: stopped after ${r.killAfterMs} ms; published ${r.published}, confirmed ${r.confirmed}` +
        ` (first confirm after ${r.firstConfirmMs ?? '-'} ms)` +
        (r.delivered ? `; consumer got ${r.delivered}, acked ${r.acked}` : ''),
    )
  }
  t.diagnostic(
    `confirmed ${ledger.confirmed.size} ids (${confirmedCopies} queue copies) of ${ledger.published.size} published; ` +
      `recovered ${final.size} copies (broker: ${JSON.stringify(recoveredLine?.['messages'])} in ` +
      `${JSON.stringify(recoveredLine?.['ms'])} ms); acked by consumers ${ledger.acked.size}, ` +
      `of which came back ${ackedCameBack}`,
  )
  t.diagnostic(
    `duplicates (copies delivered more than once) ${duplicates}; unconfirmed-but-present ${unconfirmedPresent}; ` +
      `missing ${missing.length}; damaged ${ledger.damaged.length}; nacked ${ledger.nacked.size}; ` +
      `returned ${ledger.returned.length}; total ${((Date.now() - started) / 1000).toFixed(1)} s`,
  )

  // ---- the checks
  assert.ok(ledger.confirmed.size > 0, 'nothing was confirmed in any round')
  assert.deepEqual(ledger.damaged, [], `damaged deliveries:\n  ${listSome(ledger.damaged)}`)
  assert.deepEqual(missing, [], `${missing.length} confirmed messages lost:\n  ${listSome(missing)}`)
  assert.deepEqual(
    ledger.notRedelivered,
    [],
    `${ledger.notRedelivered.length} repeated deliveries without redelivered=true:\n  ${listSome(ledger.notRedelivered)}`,
  )
  assert.deepEqual(unknown, [], `messages nobody published:\n  ${listSome(unknown)}`)
  assert.deepEqual(duplicatesInFinal, [], `copies present twice after recovery:\n  ${listSome(duplicatesInFinal)}`)
  assert.deepEqual(outOfOrder, [], `messages out of publish order after recovery:\n  ${listSome(outOfOrder)}`)
  assert.deepEqual([...ledger.nacked], [], 'publishes nacked by the broker')
  assert.deepEqual(ledger.returned, [], 'publishes returned as unroutable (bindings lost?)')
  assert.equal(recoveredLine?.['messages'], final.size, 'messages the broker says it recovered')
  return { final, recovered: final.size }
}

function seedFromEnv(t: TestContext): () => number {
  const seed = Number(process.env['WARREN_CRASH_SEED'] ?? Math.floor(Math.random() * 2 ** 31))
  t.diagnostic(`seed ${seed} (WARREN_CRASH_SEED=${seed} replays the stop delays)`)
  return seededRandom(seed)
}

describe(
  'crash: kill -9 while publishing with confirms and consuming',
  { skip: process.env['WARREN_TEST_URL'] ? 'kills and restarts a broker process' : false },
  () => {
    after(stopAllBrokerProcesses)

    test(`${ROUNDS} rounds of SIGKILL: no confirmed message is lost`, { timeout: 90_000 }, async (t: TestContext) => {
      const random = seedFromEnv(t)
      const started = Date.now()
      const ledger = new Ledger()
      const rounds: RoundStats[] = []
      let broker: BrokerProcess = await startBrokerProcess()
      await declareTopology(broker.url)
      for (let round = 0; round < ROUNDS; round++) {
        if (round > 0) broker = await broker.restart()
        const stopAfterMs = Math.round(KILL_MIN_MS + random() * (KILL_MAX_MS - KILL_MIN_MS))
        const { stats } = await runRound(broker, round, ledger, {
          stopAfterMs,
          consume: CONSUMING_ROUNDS.has(round),
          signal: 'SIGKILL',
        })
        rounds.push(stats)
      }
      await finalCheck(t, broker, ledger, rounds, started)
    })

    // The same load, stopped with SIGTERM instead: every client is told 320 CONNECTION_FORCED, the process
    // exits 0, and after the restart only the copies the broker had delivered are flagged redelivered.
    test(
      'SIGTERM under the same load: clean exit, nothing confirmed lost, exact redelivered flags',
      {
        timeout: 60_000,
      },
      async (t: TestContext) => {
        const random = seedFromEnv(t)
        const started = Date.now()
        const ledger = new Ledger()
        const broker = await startBrokerProcess()
        await declareTopology(broker.url)
        const stopAfterMs = Math.round(KILL_MIN_MS + random() * (KILL_MAX_MS - KILL_MIN_MS))
        const { stats, closeErrors } = await runRound(broker, 0, ledger, {
          stopAfterMs,
          consume: true,
          signal: 'SIGTERM',
        })
        const closes = closeErrors.map((err) => err?.message ?? 'closed without an error')
        assert.deepEqual(
          closes,
          closes.map(
            () =>
              'Connection closed: 320 (CONNECTION-FORCED) with message ' +
              `"CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"`,
          ),
          'how each client connection was closed',
        )
        // copies the consumer held unacked when the broker stopped
        let held = 0
        for (const [key, list] of ledger.deliveries) if (!ledger.acked.has(key) && list.length > 0) held++
        const { final } = await finalCheck(t, broker, ledger, [stats], started)
        // A copy never seen by the consumer may still carry redelivered=true if the broker had sent it when it
        // stopped (in flight, within the prefetch window); every other unseen copy must come back as new.
        const unseenRedelivered = [...final].filter(([key, redelivered]) => {
          const list = ledger.deliveries.get(key)!
          return redelivered && list.length === 1
        })
        const inFlightBound = 2 * ROUND_PREFETCH - held
        t.diagnostic(
          `held unacked at shutdown ${held}; never-seen copies flagged redelivered ${unseenRedelivered.length} ` +
            `(at most ${inFlightBound} can have been in flight)`,
        )
        assert.ok(
          unseenRedelivered.length <= inFlightBound,
          `${unseenRedelivered.length} copies never delivered to a client came back with redelivered=true ` +
            `(at most ${inFlightBound} were in flight):\n  ${listSome(unseenRedelivered.map(([key]) => key))}`,
        )
      },
    )
  },
)

function firstOf(times: (number | undefined)[], since: number): number | undefined {
  const known = times.filter((x): x is number => x !== undefined)
  return known.length ? Math.min(...known) - since : undefined
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
