// The programs of the differential tests: plain JSON data, so a program prints, shrinks and is saved as a
// regression test as it is.
//
// An operation names what it works on by small numbers that the runner resolves against its model of the
// broker (the channels open, the queues and exchanges it has seen declared, the consumers, the deliveries
// not yet settled), modulo the number there are. Removing operations therefore always leaves a meaningful
// program, which is what makes shrinking work, and a program stays mostly valid however it is cut.
// `missing` flags ask for a name that does not exist, to provoke the errors on purpose.
import fc from 'fast-check'

/** A routing key or binding pattern made of a few words; `*` and `#` only matter to topic exchanges. */
export type Key = string

export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers'

/** Refers to an exchange: one of the program's own (index into the name pool), the default one, or a missing one */
export type ExchangeRef = { own: number } | { default: true } | { missing: true } | { reserved: string }

/** Refers to a queue: a known one (index into the queues the model has seen), or a missing one */
export type QueueRef = { known: number } | { missing: true }

export interface QueueArgs {
  'x-message-ttl'?: number
  'x-expires'?: number
  'x-max-length'?: number
  'x-max-length-bytes'?: number
  'x-overflow'?: 'drop-head' | 'reject-publish' | 'reject-publish-dlx'
  'x-dead-letter-exchange'?: { own: number } | { default: true }
  'x-dead-letter-routing-key'?: Key
  'x-max-priority'?: number
  'x-single-active-consumer'?: boolean
}

export interface MessageProps {
  persistent: boolean
  expiration?: string
  priority?: number
  headers?: Record<string, string | number>
  CC?: Key[]
  BCC?: Key[]
  userId?: string
}

export type Op =
  | { k: 'connection.open' }
  | { k: 'connection.close'; conn: number }
  | { k: 'channel.open'; conn: number; confirm: boolean }
  | { k: 'channel.close'; ch: number }
  | {
      k: 'exchange.declare'
      ch: number
      x: number
      type: ExchangeType | 'x-unknown'
      durable: boolean
      autoDelete: boolean
      internal: boolean
      alternate?: number
      passive: boolean
      /** declare it as the program last declared it, if it did (an idempotent redeclare) */
      again?: boolean
    }
  | { k: 'exchange.declare-reserved'; ch: number; name: string }
  | { k: 'exchange.delete'; ch: number; x: ExchangeRef; ifUnused: boolean }
  | { k: 'exchange.bind' | 'exchange.unbind'; ch: number; dest: ExchangeRef; src: ExchangeRef; key: Key }
  | {
      k: 'queue.declare'
      ch: number
      /** index into the queue name pool, or -1 for a server-named queue */
      q: number
      durable: boolean
      exclusive: boolean
      autoDelete: boolean
      passive: boolean
      args: QueueArgs
      /** declare it as the program last declared it, if it did (an idempotent redeclare) */
      again?: boolean
    }
  | { k: 'queue.delete'; ch: number; q: QueueRef; ifUnused: boolean; ifEmpty: boolean }
  | { k: 'queue.purge'; ch: number; q: QueueRef }
  | {
      k: 'queue.bind' | 'queue.unbind'
      ch: number
      q: QueueRef
      x: ExchangeRef
      key: Key
      headers?: Record<string, string | number>
    }
  | {
      k: 'basic.publish'
      ch: number
      x: ExchangeRef
      /** a key, or (through the default exchange) the name of a known queue */
      key: Key | QueueRef
      mandatory: boolean
      props: MessageProps
      /** how many times the publish is repeated (a burst) */
      count: number
      /** extra body bytes, for max-length-bytes */
      pad: number
    }
  | { k: 'basic.get'; ch: number; q: QueueRef; noAck: boolean }
  | {
      k: 'basic.consume'
      ch: number
      q: QueueRef
      noAck: boolean
      exclusive: boolean
      priority?: number
      clientTag: boolean
    }
  | { k: 'basic.cancel'; ch: number; consumer: number }
  | {
      k: 'basic.ack' | 'basic.nack' | 'basic.reject'
      ch: number
      /** index into the channel's unsettled deliveries (from the oldest), or -1 for an unknown tag */
      d: number
      multiple: boolean
      requeue: boolean
    }
  | { k: 'basic.qos'; ch: number; count: number; global: boolean }
  | { k: 'basic.recover'; ch: number }
  | { k: 'tx.select' | 'tx.commit' | 'tx.rollback' | 'confirm.select'; ch: number }
  /** A pause long enough for any "short" timer of the program to have fired (see SHORT_MS). */
  | { k: 'wait' }

export type OpKind = Op['k']
export type Program = Op[]

/** All operation kinds, for coverage reports. */
export const OP_KINDS: readonly OpKind[] = [
  'connection.open',
  'connection.close',
  'channel.open',
  'channel.close',
  'exchange.declare',
  'exchange.declare-reserved',
  'exchange.delete',
  'exchange.bind',
  'exchange.unbind',
  'queue.declare',
  'queue.delete',
  'queue.purge',
  'queue.bind',
  'queue.unbind',
  'basic.publish',
  'basic.get',
  'basic.consume',
  'basic.cancel',
  'basic.ack',
  'basic.nack',
  'basic.reject',
  'basic.qos',
  'basic.recover',
  'tx.select',
  'tx.commit',
  'tx.rollback',
  'confirm.select',
  'wait',
]

// Time: a TTL or expiry is either 0 (immediate), SHORT_MS, or LONG_MS (never within a program). A `wait`
// sleeps WAIT_MS, so a SHORT_MS timer started before it has certainly fired after it, and the program's
// other operations take far less than LONG_MS. What stays uncertain is a SHORT_MS timer that fires while
// the operations between its start and the next `wait` run: the runner's pace (a settle of ~15 ms per
// operation) keeps a run of operations well under SHORT_MS only when few operations lie between, so the
// generator never places more than a few operations after a SHORT_MS start: see shortTimerWindow below.
export const SHORT_MS = 1000
export const LONG_MS = 3_600_000
export const WAIT_MS = 1500

export const EXCHANGE_POOL = 4
export const QUEUE_POOL = 4

// Few words, so that keys and patterns meet often: six keys, twenty patterns (and the empty ones, seldom)
const word = fc.constantFrom('a', 'b')
const patternWord = fc.constantFrom('a', 'b', '*', '#')
const key: fc.Arbitrary<Key> = fc.oneof(
  { weight: 12, arbitrary: fc.array(word, { minLength: 1, maxLength: 2 }).map((w) => w.join('.')) },
  { weight: 1, arbitrary: fc.constant('') },
)
const pattern: fc.Arbitrary<Key> = fc.oneof(
  { weight: 12, arbitrary: fc.array(patternWord, { minLength: 1, maxLength: 2 }).map((w) => w.join('.')) },
  { weight: 1, arbitrary: fc.constant('') },
)
const small = (max: number) => fc.nat({ max })
const ref = small(7)
const bool = fc.boolean()
/** true one time in four */
const rarely = fc.nat({ max: 3 }).map((n) => n === 0)
/** true one time in ten */
const seldom = fc.nat({ max: 9 }).map((n) => n === 0)
/** true nine times in ten */
const usually = seldom.map((b) => !b)

const ownExchange = small(EXCHANGE_POOL - 1).map((own) => ({ own }))
const exchangeRef: fc.Arbitrary<ExchangeRef> = fc.oneof(
  { weight: 16, arbitrary: ownExchange },
  { weight: 1, arbitrary: fc.constant({ default: true as const }) },
  { weight: 1, arbitrary: fc.constant({ missing: true as const }) },
  { weight: 1, arbitrary: fc.constantFrom('amq.direct', 'amq.topic').map((reserved) => ({ reserved })) },
)
const queueRef: fc.Arbitrary<QueueRef> = fc.oneof(
  { weight: 15, arbitrary: ref.map((known) => ({ known })) },
  { weight: 1, arbitrary: fc.constant({ missing: true as const }) },
)
const headerValues = fc.dictionary(fc.constantFrom('h1', 'h2'), fc.oneof(fc.constantFrom('v1', 'v2'), small(2)), {
  maxKeys: 2,
})

/** Mostly a valid value, now and then `invalid` (which the broker must refuse with the right error). */
const mostly = <T>(valid: fc.Arbitrary<T>, invalid: T): fc.Arbitrary<T> =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: fc.constant(invalid) })

/** A few of the given fields (usually none or one or two), as an object. */
function someOf<T extends object>(fields: { [K in keyof T]-?: fc.Arbitrary<T[K]> }, maxKeys = 3): fc.Arbitrary<T> {
  const entries = Object.entries(fields) as [string, fc.Arbitrary<unknown>][]
  return fc
    .uniqueArray(fc.integer({ min: 0, max: entries.length - 1 }), { maxLength: maxKeys })
    .chain((picked) =>
      fc.tuple(
        ...picked.sort((a, b) => a - b).map((i) => entries[i]![1].map((value) => [entries[i]![0], value] as const)),
      ),
    )
    .map((pairs) => Object.fromEntries(pairs) as T)
}

/** Queue arguments; with `invalid`, now and then a value or combination the broker must refuse. */
function queueArgsArbitrary(invalid: boolean): fc.Arbitrary<QueueArgs> {
  const maybe = <T>(valid: fc.Arbitrary<T>, bad: T): fc.Arbitrary<T> => (invalid ? mostly(valid, bad) : valid)
  const args = someOf<QueueArgs>({
    'x-message-ttl': maybe(fc.constantFrom(0, LONG_MS), -1),
    'x-expires': maybe(fc.constantFrom(SHORT_MS, LONG_MS), 0),
    'x-max-length': small(3),
    'x-max-length-bytes': fc.constantFrom(0, 4, 12, 40),
    'x-overflow': fc.constantFrom('drop-head' as const, 'reject-publish' as const, 'reject-publish-dlx' as const),
    'x-dead-letter-exchange': fc.oneof(ownExchange, fc.constant({ default: true as const })),
    'x-dead-letter-routing-key': key,
    'x-max-priority': fc.constantFrom(1, 3, 5),
    'x-single-active-consumer': fc.boolean(),
  })
  // a dead-letter routing key without a dead-letter exchange is refused: kept only now and then
  return fc.tuple(args, invalid ? seldom : fc.constant(false)).map(([a, keepOrphanKey]) => {
    if (a['x-dead-letter-exchange'] !== undefined || keepOrphanKey) return a
    const { 'x-dead-letter-routing-key': _orphan, ...rest } = a
    return rest
  })
}
const queueArgs = queueArgsArbitrary(true)

const messageProps: fc.Arbitrary<MessageProps> = fc
  .tuple(
    fc.boolean(),
    someOf<Omit<MessageProps, 'persistent'>>({
      expiration: mostly(fc.constantFrom('0', String(SHORT_MS), String(LONG_MS)), 'never'),
      priority: small(6),
      headers: headerValues,
      CC: fc.array(key, { minLength: 1, maxLength: 2 }),
      BCC: fc.array(key, { minLength: 1, maxLength: 1 }),
      userId: mostly(fc.constant('guest'), 'mallory'),
    }),
  )
  // A message with a TTL gets no priority: one that overtakes others in a priority queue is expired by
  // Warren at the head, while RabbitMQ 3.10 may deliver it (docs/differences.md)
  .map(([persistent, { priority, ...rest }]) =>
    rest.expiration === undefined && priority !== undefined
      ? { persistent, priority, ...rest }
      : { persistent, ...rest },
  )

/** Each operation kind with its weight in a program. */
const operations: { weight: number; arbitrary: fc.Arbitrary<Op> }[] = [
  { weight: 1, arbitrary: fc.constant({ k: 'connection.open' as const }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('connection.close' as const), conn: ref }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('channel.open' as const), conn: ref, confirm: rarely }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('channel.close' as const), ch: ref }) },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        k: fc.constant('exchange.declare' as const),
        ch: ref,
        x: small(EXCHANGE_POOL - 1),
        type: fc.oneof(
          {
            weight: 20,
            arbitrary: fc.constantFrom('direct' as const, 'fanout' as const, 'topic' as const, 'headers' as const),
          },
          { weight: 1, arbitrary: fc.constant('x-unknown' as const) },
        ),
        durable: bool,
        autoDelete: seldom,
        internal: seldom,
        alternate: small(EXCHANGE_POOL - 1),
        passive: seldom,
        again: usually,
      },
      { requiredKeys: ['k', 'ch', 'x', 'type', 'durable', 'autoDelete', 'internal', 'passive', 'again'] },
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('exchange.declare-reserved' as const),
      ch: ref,
      name: fc.constantFrom('amq.mine', 'amq.direct', 'amq.topic'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('exchange.delete' as const), ch: ref, x: exchangeRef, ifUnused: rarely }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constantFrom('exchange.bind' as const, 'exchange.bind' as const, 'exchange.unbind' as const),
      ch: ref,
      dest: exchangeRef,
      src: exchangeRef,
      key: pattern,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('queue.declare' as const),
      ch: ref,
      q: fc.integer({ min: -1, max: QUEUE_POOL - 1 }),
      durable: bool,
      exclusive: seldom,
      autoDelete: seldom,
      passive: seldom,
      args: queueArgs,
      again: usually,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('queue.delete' as const),
      ch: ref,
      q: queueRef,
      ifUnused: rarely,
      ifEmpty: rarely,
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('queue.purge' as const), ch: ref, q: queueRef }) },
  {
    weight: 8,
    arbitrary: fc.record(
      {
        k: fc.constantFrom(
          'queue.bind' as const,
          'queue.bind' as const,
          'queue.bind' as const,
          'queue.unbind' as const,
        ),
        ch: ref,
        q: queueRef,
        x: exchangeRef,
        key: pattern,
        headers: fc
          .tuple(fc.constantFrom('all', 'any'), headerValues)
          .map(([match, h]) => ({ 'x-match': match, ...h })),
      },
      { requiredKeys: ['k', 'ch', 'q', 'x', 'key'] },
    ),
  },
  {
    weight: 20,
    arbitrary: fc
      .record({
        k: fc.constant('basic.publish' as const),
        ch: ref,
        // through an exchange with a key, or straight to a queue through the default exchange
        route: fc.oneof(
          { weight: 2, arbitrary: fc.record({ x: exchangeRef, key: key as fc.Arbitrary<Key | QueueRef> }) },
          {
            weight: 3,
            arbitrary: fc.record({
              x: fc.constant<ExchangeRef>({ default: true }),
              key: queueRef as fc.Arbitrary<Key | QueueRef>,
            }),
          },
        ),
        mandatory: bool,
        props: messageProps,
        count: fc.oneof(
          { weight: 4, arbitrary: fc.constant(1) },
          { weight: 1, arbitrary: fc.integer({ min: 2, max: 5 }) },
        ),
        pad: fc.constantFrom(0, 0, 10),
      })
      .map(({ route, ...rest }): Op => ({ ...rest, ...route })),
  },
  {
    weight: 7,
    arbitrary: fc.record({ k: fc.constant('basic.get' as const), ch: ref, q: queueRef, noAck: bool }),
  },
  {
    weight: 9,
    arbitrary: fc.record(
      {
        k: fc.constant('basic.consume' as const),
        ch: ref,
        q: queueRef,
        noAck: rarely,
        exclusive: rarely,
        priority: fc.integer({ min: -1, max: 2 }),
        clientTag: bool,
      },
      { requiredKeys: ['k', 'ch', 'q', 'noAck', 'exclusive', 'clientTag'] },
    ),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('basic.cancel' as const), ch: ref, consumer: ref }) },
  {
    weight: 16,
    arbitrary: fc.record({
      k: fc.constantFrom('basic.ack' as const, 'basic.ack' as const, 'basic.nack' as const, 'basic.reject' as const),
      ch: ref,
      d: fc.oneof({ weight: 12, arbitrary: ref }, { weight: 1, arbitrary: fc.constant(-1) }),
      multiple: rarely,
      requeue: bool,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('basic.qos' as const), ch: ref, count: small(3), global: rarely }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('basic.recover' as const), ch: ref }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constantFrom('tx.select' as const, 'tx.commit' as const, 'tx.rollback' as const, 'confirm.select' as const),
      ch: ref,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'wait' as const }) },
]

/** Operations that may start a SHORT_MS timer (a queue or message TTL, a queue expiry). */
function startsShortTimer(op: Op): boolean {
  if (op.k === 'queue.declare') {
    return op.args['x-message-ttl'] === SHORT_MS || op.args['x-expires'] === SHORT_MS
  }
  return op.k === 'basic.publish' && op.props.expiration === String(SHORT_MS)
}

/** How many operations may follow a SHORT_MS timer's start before a `wait` must come. */
export const SHORT_TIMER_WINDOW = 4

/**
 * Makes the timing deterministic: after an operation that may start a SHORT_MS timer, a `wait` comes within
 * SHORT_TIMER_WINDOW operations, so the operations in between finish well before the timer fires and the
 * wait outlasts it. Applied after generation and after every shrink step, so it holds for shrunk programs.
 */
export function scheduleTimers(program: Program): Program {
  const out: Program = []
  let sinceShort = -1
  for (const op of program) {
    if (op.k === 'wait') sinceShort = -1
    if (sinceShort >= SHORT_TIMER_WINDOW) {
      out.push({ k: 'wait' })
      sinceShort = -1
    }
    out.push(op)
    if (sinceShort >= 0) sinceShort++
    if (startsShortTimer(op)) sinceShort = 0
  }
  if (sinceShort >= 0) out.push({ k: 'wait' })
  return out
}

/** Plain declarations and bindings to start from, so that the random operations have something to work on. */
const setup: fc.Arbitrary<Op[]> = fc
  .tuple(
    fc.array(
      fc.record({
        k: fc.constant('exchange.declare' as const),
        ch: fc.constant(0),
        x: small(EXCHANGE_POOL - 1),
        type: fc.constantFrom('direct' as const, 'fanout' as const, 'topic' as const, 'headers' as const),
        durable: bool,
        autoDelete: fc.constant(false),
        internal: fc.constant(false),
        passive: fc.constant(false),
      }),
      { minLength: 1, maxLength: 2 },
    ),
    fc.array(
      fc.record({
        k: fc.constant('queue.declare' as const),
        ch: fc.constant(0),
        q: fc.integer({ min: -1, max: QUEUE_POOL - 1 }),
        durable: bool,
        exclusive: fc.constant(false),
        autoDelete: fc.constant(false),
        passive: fc.constant(false),
        args: queueArgsArbitrary(false),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    fc.array(
      fc.record({
        k: fc.constant('queue.bind' as const),
        ch: fc.constant(0),
        q: ref.map((known) => ({ known })),
        x: ownExchange,
        key: pattern,
      }),
      { minLength: 1, maxLength: 3 },
    ),
  )
  // each name declared once (a second, different declaration would fail and close the channel at once)
  .map(([exchanges, queues, bindings]) => [
    ...exchanges.filter((op, i) => exchanges.findIndex((other) => other.x === op.x) === i),
    ...queues.filter((op, i) => op.q < 0 || queues.findIndex((other) => other.q === op.q) === i),
    ...bindings,
  ])

/**
 * The program generator: a few declarations, then `minOps`..`maxOps` random operations; the first
 * connection and channel are opened by the runner.
 */
export function programArbitrary(minOps = 5, maxOps = 50): fc.Arbitrary<Program> {
  return fc
    .tuple(setup, fc.array(fc.oneof(...operations), { minLength: minOps, maxLength: maxOps }))
    .map(([start, ops]) => scheduleTimers([...start, ...ops]))
}
