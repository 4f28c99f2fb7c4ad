// Frames a confused or malicious client might send, for fuzzing a live broker: random but plausible
// methods, publishes and stray frames, biased towards the names, arguments and properties the broker gives
// meaning to. Used by test/integration/hostile.test.ts: HOSTILE_FUZZ_RUNS=2000 for a longer hunt,
// HOSTILE_FUZZ_TEXTS=1 to tally the outcomes with their reply texts.
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { TypedValue, type FieldTable, type FieldValue } from '../../src/protocol/field-value.js'
import { HARD_ERRORS } from '../../src/protocol/generated/constants.js'
import type { Method } from '../../src/protocol/generated/methods.js'
import type { BasicProperties } from '../../src/protocol/generated/properties.js'
import { FRAME_BODY, FRAME_HEADER } from '../../src/protocol/writer.js'
import {
  RawClient,
  bodyFrame,
  describe as describeMethod,
  headerFrame,
  methodFrame,
  rawFrame,
} from '../helpers/raw-client.js'

/**
 * Opens channels 1-3 and declares the names the fuzzer uses (fz-x1 topic, fz-x2 headers, fz-q1, fz-q2, with
 * a few bindings and messages), so that its binds, publishes, gets and consumes reach deeper than 404.
 */
export async function setUp(c: RawClient): Promise<void> {
  for (const ch of [1, 2, 3]) await c.openChannel(ch)
  const declares: Method[] = [
    {
      name: 'exchange.declare',
      exchange: 'fz-x1',
      type: 'topic',
      passive: false,
      durable: false,
      autoDelete: false,
      internal: false,
      noWait: false,
      arguments: {},
    },
    {
      name: 'exchange.declare',
      exchange: 'fz-x2',
      type: 'headers',
      passive: false,
      durable: false,
      autoDelete: false,
      internal: false,
      noWait: false,
      arguments: {},
    },
    {
      name: 'queue.declare',
      queue: 'fz-q1',
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      noWait: false,
      arguments: {},
    },
    {
      name: 'queue.declare',
      queue: 'fz-q2',
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      noWait: false,
      arguments: {},
    },
    { name: 'queue.bind', queue: 'fz-q1', exchange: 'fz-x1', routingKey: '#', noWait: false, arguments: {} },
    {
      name: 'queue.bind',
      queue: 'fz-q2',
      exchange: 'fz-x2',
      routingKey: '',
      noWait: false,
      arguments: { 'x-match': 'any', a: 1 },
    },
  ]
  for (const m of declares) {
    c.send(1, m)
    const reply = await c.nextMethod()
    // Another run may have redeclared these with other arguments: a 406 here is fine, reopen and go on
    if (reply.name === 'channel.close') {
      c.send(1, { name: 'channel.close-ok' })
      await c.openChannel(1)
    }
  }
  for (let i = 0; i < 3; i++) {
    c.write(
      methodFrame(1, {
        name: 'basic.publish',
        exchange: '',
        routingKey: i % 2 ? 'fz-q1' : 'fz-q2',
        mandatory: false,
        immediate: false,
      }),
    )
    c.write(headerFrame(1, 1, {}))
    c.write(bodyFrame(1, Buffer.from('m')))
  }
}

/** Reads what the server sends for a moment; returns a summary: "ok", "close 504", "channel.close 404"... */
export async function drain(c: RawClient): Promise<string> {
  const codes: string[] = []
  for (;;) {
    let f
    try {
      f = await c.nextFrame(150)
    } catch {
      break
    }
    const m = f.method
    if (m?.name === 'connection.close') {
      assert.ok(
        HARD_ERRORS.has(m.replyCode) || m.replyCode === 403,
        `connection.close with a soft code: ${describeMethod(m)}`,
      )
      codes.push(`close ${m.replyCode}${process.env['HOSTILE_FUZZ_TEXTS'] ? ' ' + m.replyText.slice(0, 70) : ''}`)
      c.send(0, { name: 'connection.close-ok' })
      break
    }
    if (m?.name === 'channel.close') {
      codes.push(`channel.close ${m.replyCode}`)
      c.send(f.channel, { name: 'channel.close-ok' })
    }
  }
  return codes.length === 0 ? 'ok' : [...new Set(codes)].join(', ')
}

const chan = fc.oneof(
  { weight: 80, arbitrary: fc.constantFrom(1, 2, 3) },
  { weight: 1, arbitrary: fc.constantFrom(0, 4) },
)
const queueName = fc.constantFrom('', 'fz-q1', 'fz-q2', 'amq.gen-x', 'amq.q', 'fz-' + 'x'.repeat(200))
const exchangeName = fc.constantFrom(
  '',
  'amq.direct',
  'amq.fanout',
  'amq.topic',
  'amq.headers',
  'amq.match',
  'fz-x1',
  'fz-x2',
  'amq.rabbitmq.trace',
)
const exchangeType = fc.constantFrom('direct', 'fanout', 'topic', 'headers', 'x-consistent-hash', '')
const key = fc.constantFrom('', 'k', 'fz-q1', 'a.b', '#', '*.b', 'a.#.b')
const ctag = fc.constantFrom('', 'c1', 'c2', 'amq.ctag-x')
const argValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.integer({ min: -2, max: 100_000 }),
  fc.constantFrom(0, -1, 2 ** 31 - 1, 2 ** 40, 1.5, NaN, Infinity),
  fc.constantFrom(
    '',
    'drop-head',
    'reject-publish',
    'reject-publish-dlx',
    'lazy',
    'classic',
    'quorum',
    'stream',
    'all',
    'any',
    'all-with-x',
    'fz-x1',
    'amq.direct',
  ),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.integer({ min: -128, max: 127 }).map((v) => new TypedValue('b', v)),
  fc.integer({ min: 0, max: 0xffff_ffff }).map((v) => new TypedValue('i', v)),
  fc.double().map((v) => new TypedValue('d', v)),
  fc.constant(new TypedValue('D', { scale: 1, value: 15 })),
  fc.constant(Buffer.from('bytes')),
  fc.constant<FieldValue>(['a', 1]),
  fc.constant<FieldValue>({ nested: 1 }),
)
const argKey = fc.constantFrom(
  'x-message-ttl',
  'x-expires',
  'x-max-length',
  'x-max-length-bytes',
  'x-overflow',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-priority',
  'x-queue-type',
  'x-queue-mode',
  'x-single-active-consumer',
  'x-match',
  'alternate-exchange',
  'x-priority',
  'x-cancel-on-ha-failover',
  'x-consumer-timeout',
  'x-delivery-limit',
  'CC',
  'BCC',
  'a',
)
const args: fc.Arbitrary<FieldTable> = fc.dictionary(argKey, argValue, { maxKeys: 3 })
const props: fc.Arbitrary<BasicProperties> = fc.record(
  {
    contentType: fc.constantFrom('text/plain', ''),
    headers: args,
    deliveryMode: fc.constantFrom(1, 2, 0, 255),
    priority: fc.integer({ min: 0, max: 255 }),
    expiration: fc.constantFrom('', '0', '1', '100', '-1', 'abc', '99999999999999999999', '1.5'),
    userId: fc.constantFrom('guest', 'someone-else', ''),
    replyTo: fc.constantFrom('amq.rabbitmq.reply-to', 'fz-q1', ''),
    timestamp: fc.constantFrom(0, 1_700_000_000),
  },
  { requiredKeys: [] },
)
const bool = fc.boolean()

const methodArb: fc.Arbitrary<Method> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Method>({ name: 'channel.open' }) },
  {
    weight: 1,
    arbitrary: fc.record({
      name: fc.constant('channel.close' as const),
      replyCode: fc.constant(200),
      replyText: fc.constant(''),
      classId: fc.constant(0),
      methodId: fc.constant(0),
    }),
  },
  { weight: 1, arbitrary: fc.constant<Method>({ name: 'channel.close-ok' }) },
  { weight: 8, arbitrary: fc.record({ name: fc.constant('channel.flow' as const), active: bool }) },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('exchange.declare' as const),
      exchange: exchangeName,
      type: exchangeType,
      passive: bool,
      durable: bool,
      autoDelete: bool,
      internal: bool,
      noWait: bool,
      arguments: args,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('exchange.delete' as const),
      exchange: exchangeName,
      ifUnused: bool,
      noWait: bool,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constantFrom('exchange.bind' as const, 'exchange.unbind' as const),
      destination: exchangeName,
      source: exchangeName,
      routingKey: key,
      noWait: bool,
      arguments: args,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('queue.declare' as const),
      queue: queueName,
      passive: bool,
      durable: bool,
      exclusive: bool,
      autoDelete: bool,
      noWait: bool,
      arguments: args,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('queue.bind' as const),
      queue: queueName,
      exchange: exchangeName,
      routingKey: key,
      noWait: bool,
      arguments: args,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('queue.unbind' as const),
      queue: queueName,
      exchange: exchangeName,
      routingKey: key,
      arguments: args,
    }),
  },
  { weight: 8, arbitrary: fc.record({ name: fc.constant('queue.purge' as const), queue: queueName, noWait: bool }) },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('queue.delete' as const),
      queue: queueName,
      ifUnused: bool,
      ifEmpty: bool,
      noWait: bool,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('basic.qos' as const),
      prefetchSize: fc.constantFrom(0, 0, 10),
      prefetchCount: fc.integer({ min: 0, max: 3 }),
      global: bool,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('basic.consume' as const),
      queue: queueName,
      consumerTag: ctag,
      noLocal: bool,
      noAck: bool,
      exclusive: bool,
      noWait: bool,
      arguments: args,
    }),
  },
  { weight: 8, arbitrary: fc.record({ name: fc.constant('basic.cancel' as const), consumerTag: ctag, noWait: bool }) },
  { weight: 8, arbitrary: fc.record({ name: fc.constant('basic.get' as const), queue: queueName, noAck: bool }) },
  {
    weight: 8,
    arbitrary: fc
      .record({
        name: fc.constantFrom('basic.ack' as const, 'basic.reject' as const),
        deliveryTag: fc.integer({ min: 0, max: 4 }),
        multiple: bool,
        requeue: bool,
      })
      .map(
        (m) =>
          (m.name === 'basic.ack'
            ? { name: m.name, deliveryTag: m.deliveryTag, multiple: m.multiple }
            : { name: m.name, deliveryTag: m.deliveryTag, requeue: m.requeue }) as Method,
      ),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constant('basic.nack' as const),
      deliveryTag: fc.integer({ min: 0, max: 4 }),
      multiple: bool,
      requeue: bool,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      name: fc.constantFrom('basic.recover' as const, 'basic.recover-async' as const),
      requeue: bool,
    }),
  },
  { weight: 8, arbitrary: fc.record({ name: fc.constant('confirm.select' as const), noWait: bool }) },
  {
    weight: 8,
    arbitrary: fc.constantFrom<Method>({ name: 'tx.select' }, { name: 'tx.commit' }, { name: 'tx.rollback' }),
  },
  {
    weight: 8,
    arbitrary: fc.constantFrom<Method>({
      name: 'access.request',
      realm: '/data',
      exclusive: false,
      passive: true,
      active: true,
      write: true,
      read: true,
    }),
  },
)

/** One step: a method frame, a whole publish (method, header, bodies), a stray content frame, or raw bytes. */
export const step: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 60, arbitrary: fc.tuple(chan, methodArb).map(([ch, m]) => methodFrame(ch, m)) },
  {
    weight: 40,
    arbitrary: fc
      .tuple(
        chan,
        exchangeName,
        key,
        bool,
        props,
        fc.integer({ min: 0, max: 3000 }),
        fc.oneof({ weight: 30, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }),
      )
      .map(([ch, exchange, routingKey, mandatory, p, size, skew]) =>
        Buffer.concat([
          methodFrame(ch, { name: 'basic.publish', exchange, routingKey, mandatory, immediate: false }),
          headerFrame(ch, Math.max(0, size + skew), p),
          ...(size > 0 ? [bodyFrame(ch, Buffer.alloc(size, 0x61))] : []),
        ]),
      ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(FRAME_HEADER, FRAME_BODY, 8), chan, fc.uint8Array({ maxLength: 30 }))
      .map(([type, ch, payload]) => rawFrame(type, ch, Buffer.from(payload))),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => Buffer.from(b)) },
)
