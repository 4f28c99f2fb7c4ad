// Topic exchange routing: '*' is exactly one word, '#' is zero or more words, words may be empty, and the
// empty routing key has no words at all. The expectations below are RabbitMQ 3.10's actual routing.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import { Scope, TEST_TIMEOUT, drain, roundTrip, waitForMessageCount } from '../../helpers/amqplib.js'

const KEYS = [
  '',
  'a',
  'b',
  'A',
  'a.b',
  'a.x.b',
  'a.x.y.b',
  'a.b.c',
  'b.a',
  'b.c.a',
  'a.',
  '.a',
  '.',
  'a..b',
  '..',
  'x.b.y',
]
const ALL_BUT_EMPTY = KEYS.filter((k) => k !== '')

/** binding key → the routing keys (from KEYS, in publish order) it matches */
const EXPECTED: Array<[string, string[]]> = [
  ['#', KEYS],
  ['#.#', KEYS],
  ['*', ['a', 'b', 'A']],
  ['', ['']],
  ['a', ['a']],
  ['a.*', ['a.b', 'a.']],
  ['a.#', ['a', 'a.b', 'a.x.b', 'a.x.y.b', 'a.b.c', 'a.', 'a..b']],
  ['#.a', ['a', 'b.a', 'b.c.a', '.a']],
  ['a.#.b', ['a.b', 'a.x.b', 'a.x.y.b', 'a..b']],
  ['a.#.#.b', ['a.b', 'a.x.b', 'a.x.y.b', 'a..b']],
  ['*.*', ['a.b', 'b.a', 'a.', '.a', '.']],
  ['a.*.b', ['a.x.b', 'a..b']],
  ['*.#', ALL_BUT_EMPTY],
  ['#.*', ALL_BUT_EMPTY],
  ['#.*.#', ALL_BUT_EMPTY],
  ['*.*.#', ['a.b', 'a.x.b', 'a.x.y.b', 'a.b.c', 'b.a', 'b.c.a', 'a.', '.a', '.', 'a..b', '..', 'x.b.y']],
  ['#.b.#', ['b', 'a.b', 'a.x.b', 'a.x.y.b', 'a.b.c', 'b.a', 'b.c.a', 'a..b', 'x.b.y']],
  ['*.b.*', ['a.b.c', 'x.b.y']],
]

describe('amqplib: topic routing', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'topic')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('binding keys with *, # and empty words match the right routing keys', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'topic', { durable: false })
    const queues: string[] = []
    for (const [pattern] of EXPECTED) {
      const q = scope.queue()
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, pattern)
      queues.push(q)
    }
    for (const key of KEYS) ch.publish(x, key, Buffer.from(key))
    await roundTrip(ch)
    for (const [i, [pattern, expected]] of EXPECTED.entries()) {
      await waitForMessageCount(ch, queues[i]!, expected.length)
      assert.deepEqual(await drain(ch, queues[i]!), expected, `binding key ${JSON.stringify(pattern)}`)
    }
    await conn.close()
  })

  test('a queue matched by several bindings gets one copy', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const q = scope.queue()
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.assertQueue(q, { durable: false })
    for (const pattern of ['#', 'a.*', '*.b', 'a.b']) await ch.bindQueue(q, x, pattern)
    ch.publish(x, 'a.b', Buffer.from('once'))
    await waitForMessageCount(ch, q, 1)
    await roundTrip(ch)
    assert.deepEqual(await drain(ch, q), ['once'])
    await conn.close()
  })

  test('unbinding one pattern leaves the others', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    const q = scope.queue()
    await ch.assertExchange(x, 'topic', { durable: false })
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, x, 'stock.#')
    await ch.bindQueue(q, x, '*.nyse')
    await ch.unbindQueue(q, x, 'stock.#')
    ch.publish(x, 'stock.usd', Buffer.from('unbound pattern'))
    ch.publish(x, 'quote.nyse', Buffer.from('still bound'))
    await waitForMessageCount(ch, q, 1)
    assert.deepEqual(await drain(ch, q), ['still bound'])
    await conn.close()
  })

  test('amq.topic routes like any topic exchange', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const key = scope.name('key')
    await ch.assertQueue(q, { durable: false })
    await ch.bindQueue(q, 'amq.topic', `${key}.#`)
    ch.publish('amq.topic', `${key}.deep.er`, Buffer.from('t'))
    await waitForMessageCount(ch, q, 1)
    const m = await ch.get(q, { noAck: true })
    assert.ok(m)
    assert.equal(m.fields.exchange, 'amq.topic')
    assert.equal(m.fields.routingKey, `${key}.deep.er`)
    await ch.unbindQueue(q, 'amq.topic', `${key}.#`)
    await conn.close()
  })
})
