// Crash programs: a short random sequence of AMQP operations over a few channels, with the moment Warren is
// killed (SIGKILL) part of the program, so that one seed always gives the same operations and the same kill
// point. The generator makes raw operations; normalise() then drops the ones that would only provoke a
// channel error (a bind to an exchange nobody declared...), using the same routing model that later tells
// which queues each publish reached.
//
// Names are logical (q0, dx...): the runner prefixes them per program. Durability is part of the name, so a
// queue is never declared twice with different arguments: q* are durable, t* are not. Nothing here makes a
// loss legitimate (no TTL, max-length, purge, delete or dead-lettering).
import fc from 'fast-check'

export const DURABLE_QUEUES = ['q0', 'q1', 'q2'] as const
export const TRANSIENT_QUEUES = ['t0', 't1'] as const
export const QUEUES = [...DURABLE_QUEUES, ...TRANSIENT_QUEUES] as const
export type QueueName = (typeof QUEUES)[number]

/** Durable exchanges: `dx` direct, `fx` fanout */
export const EXCHANGES = ['dx', 'fx'] as const
export type ExchangeName = (typeof EXCHANGES)[number]
export const EXCHANGE_TYPE: Record<ExchangeName, 'direct' | 'fanout'> = { dx: 'direct', fx: 'fanout' }
export const ROUTING_KEYS = ['a', 'b', 'c'] as const

export const isDurableQueue = (queue: string): boolean => (DURABLE_QUEUES as readonly string[]).includes(queue)

/** Bigger than the default frame-max (128 KiB), so such a body takes several frames. */
export const LARGE_BODY_MIN = 132_000

export interface ChannelSpec {
  connection: 0 | 1
  confirm: boolean
}

/**
 * `ch` is an index into Program.channels (for ack/nack/reject: the first channel from there on that holds
 * deliveries at run time); `pick` chooses among that channel's unacked deliveries at run time.
 */
export type Op =
  | { kind: 'declareQueue'; ch: number; queue: QueueName }
  | { kind: 'declareExchange'; ch: number; exchange: ExchangeName }
  | { kind: 'bind'; ch: number; queue: QueueName; exchange: ExchangeName; key: string }
  | { kind: 'unbind'; ch: number; queue: QueueName; exchange: ExchangeName; key: string }
  /** `count` messages sent back to back without waiting; exchange '' is the default exchange (key = queue) */
  | {
      kind: 'publish'
      ch: number
      exchange: ExchangeName | ''
      key: string
      persistent: boolean
      count: number
      large: boolean
    }
  | { kind: 'waitForConfirms'; ch: number }
  | { kind: 'consume'; ch: number; queue: QueueName; prefetch: number }
  | { kind: 'cancel'; ch: number; pick: number }
  | { kind: 'get'; ch: number; queue: QueueName }
  | { kind: 'ack'; ch: number; pick: number; multiple: boolean }
  | { kind: 'nack'; ch: number; pick: number; multiple: boolean; requeue: boolean }
  | { kind: 'reject'; ch: number; pick: number; requeue: boolean }
  /** closes the channel with its unacked messages (they go back to their queues); the next op reopens it */
  | { kind: 'closeChannel'; ch: number }
  | { kind: 'sleep'; ms: number }

/** Warren is killed after op `afterOp` has completed and `delayMs` more have passed (0: before the next op). */
export interface KillPoint {
  afterOp: number
  delayMs: number
}

export interface CrashProgram {
  channels: ChannelSpec[]
  ops: Op[]
  kill: KillPoint
}

export function describeKill(kill: KillPoint): string {
  return kill.delayMs === 0 ? `before op ${kill.afterOp + 1}` : `after op ${kill.afterOp} + ${kill.delayMs} ms`
}

// ---------------------------------------------------------------------------------------------------------
// The routing model: which queues and exchanges exist and which bindings, as the ops so far left them

export class RoutingModel {
  readonly queues = new Set<QueueName>()
  readonly exchanges = new Set<ExchangeName>()
  /** `${exchange} ${queue} ${key}` */
  readonly bindings = new Set<string>()

  /** Applies a completed op. */
  apply(op: Op): void {
    switch (op.kind) {
      case 'declareQueue':
        this.queues.add(op.queue)
        break
      case 'declareExchange':
        this.exchanges.add(op.exchange)
        break
      case 'bind':
        this.bindings.add(`${op.exchange} ${op.queue} ${op.key}`)
        break
      case 'unbind':
        this.bindings.delete(`${op.exchange} ${op.queue} ${op.key}`)
        break
    }
  }

  /** Would this op run without a channel error? */
  valid(op: Op): boolean {
    switch (op.kind) {
      case 'bind':
      case 'unbind':
        return this.queues.has(op.queue) && this.exchanges.has(op.exchange)
      case 'publish':
        return op.exchange === '' || this.exchanges.has(op.exchange)
      case 'consume':
      case 'get':
        return this.queues.has(op.queue)
      default:
        return true
    }
  }

  /** The queues a message published now reaches (logical names, sorted). */
  route(exchange: ExchangeName | '', key: string): QueueName[] {
    if (exchange === '') return this.queues.has(key as QueueName) ? [key as QueueName] : []
    const reached = new Set<QueueName>()
    for (const binding of this.bindings) {
      const [e, q, k] = binding.split(' ') as [ExchangeName, QueueName, string]
      if (e !== exchange) continue
      if (EXCHANGE_TYPE[e] === 'fanout' || k === key) reached.add(q)
    }
    return [...reached].sort()
  }

  /** Bindings of durable queues, the ones that must survive a restart. */
  durableBindings(): string[] {
    return [...this.bindings].filter((b) => isDurableQueue(b.split(' ')[1]!)).sort()
  }
}

/**
 * Drops the ops that would fail with a channel error (using a queue or exchange not declared yet), fits
 * channel indexes to the channel list and large bursts to a few messages. Deterministic.
 */
export function normalise(raw: { channels: ChannelSpec[]; setup: Op[]; body: Op[]; kill: KillPoint }): CrashProgram {
  const model = new RoutingModel()
  const ops: Op[] = []
  let bodyStart = 0
  for (const [i, op] of [...raw.setup, ...raw.body].entries()) {
    if (i === raw.setup.length) bodyStart = ops.length
    const fitted = 'ch' in op ? { ...op, ch: op.ch % raw.channels.length } : { ...op }
    if (fitted.kind === 'publish' && fitted.large) fitted.count = Math.min(fitted.count, 3)
    if (!model.valid(fitted)) continue
    model.apply(fitted)
    ops.push(fitted)
  }
  // the kill lands in the body, after its second op at the earliest: where the messages are
  const first = Math.min(bodyStart + 1, ops.length - 1)
  return {
    channels: raw.channels,
    ops,
    kill: { ...raw.kill, afterOp: first + (raw.kill.afterOp % (ops.length - first)) },
  }
}

// ---------------------------------------------------------------------------------------------------------
// The generator

// durable queues are the subject: they come up three times as often as the others
const queueArb = fc.oneof(
  { arbitrary: fc.constantFrom(...DURABLE_QUEUES), weight: 3 },
  { arbitrary: fc.constantFrom(...TRANSIENT_QUEUES), weight: 1 },
)
const exchangeArb = fc.constantFrom(...EXCHANGES)
const keyArb = fc.constantFrom(...ROUTING_KEYS)
const chArb = fc.nat(7)
const pickArb = fc.nat(50)

const declareQueueArb = fc.record({ kind: fc.constant('declareQueue' as const), ch: chArb, queue: queueArb })
const declareExchangeArb = fc.record({
  kind: fc.constant('declareExchange' as const),
  ch: chArb,
  exchange: exchangeArb,
})
const bindArb = fc.record({
  kind: fc.constant('bind' as const),
  ch: chArb,
  queue: queueArb,
  exchange: exchangeArb,
  key: keyArb,
})

const publishArb: fc.Arbitrary<Op> = fc
  .record({
    ch: chArb,
    target: fc.oneof(
      queueArb.map((q) => ({ exchange: '' as const, key: q as string })),
      fc.record({ exchange: exchangeArb, key: keyArb }),
    ),
    persistentWeight: fc.nat(3),
    count: fc.oneof(
      { arbitrary: fc.constant(1), weight: 3 },
      { arbitrary: fc.integer({ min: 2, max: 10 }), weight: 3 },
      { arbitrary: fc.integer({ min: 20, max: 200 }), weight: 2 },
    ),
    large: fc.nat(14).map((n) => n === 0),
  })
  .map(({ ch, target, persistentWeight, count, large }) => ({
    kind: 'publish' as const,
    ch,
    exchange: target.exchange,
    key: target.key,
    // three in four publishes are persistent: those are the ones the invariant is about
    persistent: persistentWeight !== 0,
    count,
    large,
  }))

const bodyOpArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: publishArb, weight: 30 },
  { arbitrary: fc.record({ kind: fc.constant('waitForConfirms' as const), ch: chArb }), weight: 5 },
  {
    arbitrary: fc.record({
      kind: fc.constant('consume' as const),
      ch: chArb,
      queue: queueArb,
      prefetch: fc.integer({ min: 1, max: 50 }),
    }),
    weight: 9,
  },
  { arbitrary: fc.record({ kind: fc.constant('cancel' as const), ch: chArb, pick: pickArb }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('get' as const), ch: chArb, queue: queueArb }), weight: 14 },
  {
    arbitrary: fc.record({ kind: fc.constant('ack' as const), ch: chArb, pick: pickArb, multiple: fc.boolean() }),
    weight: 14,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('nack' as const),
      ch: chArb,
      pick: pickArb,
      multiple: fc.boolean(),
      requeue: fc.boolean(),
    }),
    weight: 8,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('reject' as const), ch: chArb, pick: pickArb, requeue: fc.boolean() }),
    weight: 6,
  },
  { arbitrary: fc.record({ kind: fc.constant('closeChannel' as const), ch: chArb }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('sleep' as const), ms: fc.integer({ min: 0, max: 20 }) }), weight: 5 },
  { arbitrary: bindArb, weight: 4 },
  { arbitrary: bindArb.map((b) => ({ ...b, kind: 'unbind' as const })), weight: 2 },
  { arbitrary: declareQueueArb, weight: 3 },
  { arbitrary: declareExchangeArb, weight: 1 },
)

const channelArb: fc.Arbitrary<ChannelSpec> = fc.record({
  connection: fc.constantFrom(0 as const, 1 as const),
  // most channels are confirm channels: only confirmed publishes are owed after the crash
  confirm: fc.nat(4).map((n) => n !== 0),
})

/** Raw programs: a setup (most of the queues and exchanges, some bindings), a body, a kill point. */
export const crashProgramArb: fc.Arbitrary<CrashProgram> = fc
  .record({
    channels: fc.array(channelArb, { minLength: 2, maxLength: 4 }),
    declares: fc.shuffledSubarray(
      [
        ...QUEUES.map((queue) => ({ kind: 'declareQueue' as const, queue })),
        ...EXCHANGES.map((exchange) => ({ kind: 'declareExchange' as const, exchange })),
      ],
      { minLength: 5 },
    ),
    declareChannels: fc.array(chArb, { minLength: 7, maxLength: 7 }),
    binds: fc.array(bindArb, { minLength: 2, maxLength: 8, size: 'max' }),
    body: fc.array(bodyOpArb, { minLength: 10, maxLength: 40, size: 'max' }),
    kill: fc.record({
      afterOp: fc.nat(1000),
      delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 })),
    }),
  })
  .map(({ channels, declares, declareChannels, binds, body, kill }) =>
    normalise({
      channels,
      setup: [...declares.map((d, i) => ({ ...d, ch: declareChannels[i]! })), ...binds],
      body,
      kill,
    }),
  )

/** The program of one seed (the same seed gives the same program). */
export function crashProgram(seed: number): CrashProgram {
  return fc.sample(crashProgramArb, { seed, numRuns: 1 })[0]!
}
