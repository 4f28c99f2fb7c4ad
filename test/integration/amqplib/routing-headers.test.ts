// Headers exchange routing: x-match all / any / all-with-x / any-with-x, presence-only (void) binding values,
// numeric type classes, 'x-' keys, and the x-match errors. The expectations are RabbitMQ 3.10's routing.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  drain,
  expectChannelError,
  openChannel,
  roundTrip,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

/** message name → headers (undefined: amqplib sends an empty table) */
const MESSAGES: Array<[string, Record<string, unknown> | undefined]> = [
  ['none', undefined],
  ['a1', { a: 1 }],
  ['a1b2', { a: 1, b: 'two' }],
  ['a1b2c', { a: 1, b: 'two', c: 3 }],
  ['b2', { b: 'two' }],
  ['a2', { a: 2 }],
  ['aStr1', { a: '1' }],
  ['aLong1', { a: { '!': 'long', value: 1 } }],
  ['aDouble1', { a: 1.0000001 }],
  ['aDouble15', { a: 1.5 }],
  ['aFloat15', { a: { '!': 'float', value: 1.5 } }],
  ['aNull', { a: null }],
  ['xk', { 'x-k': 'v' }],
  ['xkA1', { 'x-k': 'v', a: 1 }],
  ['flagTrue', { flag: true }],
  ['flag1', { flag: 1 }],
]
const ALL = MESSAGES.map(([name]) => name)

/** binding arguments → the messages it matches */
const EXPECTED: Array<[string, Record<string, unknown>, string[]]> = [
  ['all of a=1, b=two', { 'x-match': 'all', a: 1, b: 'two' }, ['a1b2', 'a1b2c']],
  ['x-match defaults to all', { a: 1, b: 'two' }, ['a1b2', 'a1b2c']],
  ['any of a=1, b=two', { 'x-match': 'any', a: 1, b: 'two' }, ['a1', 'a1b2', 'a1b2c', 'b2', 'aLong1', 'xkA1']],
  ['all of nothing matches everything', { 'x-match': 'all' }, ALL],
  ['no arguments at all matches everything', {}, ALL],
  ['any of nothing matches nothing', { 'x-match': 'any' }, []],
  [
    'a void value only requires presence',
    { 'x-match': 'all', a: null },
    ['a1', 'a1b2', 'a1b2c', 'a2', 'aStr1', 'aLong1', 'aDouble1', 'aDouble15', 'aFloat15', 'aNull', 'xkA1'],
  ],
  ['all ignores x- keys', { 'x-match': 'all', 'x-k': 'v' }, ALL],
  ['any ignores x- keys', { 'x-match': 'any', 'x-k': 'v', a: 1 }, ['a1', 'a1b2', 'a1b2c', 'aLong1', 'xkA1']],
  ['all-with-x compares x- keys', { 'x-match': 'all-with-x', 'x-k': 'v' }, ['xk', 'xkA1']],
  ['any-with-x compares x- keys', { 'x-match': 'any-with-x', 'x-k': 'v' }, ['xk', 'xkA1']],
  [
    'integers of any width are equal',
    { 'x-match': 'all', a: { '!': 'long', value: 1 } },
    ['a1', 'a1b2', 'a1b2c', 'aLong1', 'xkA1'],
  ],
  ['float and double are one type class', { 'x-match': 'all', a: 1.5 }, ['aDouble15', 'aFloat15']],
  ['booleans are not integers', { 'x-match': 'all', flag: true }, ['flagTrue']],
  ['strings are not integers', { 'x-match': 'all', a: '1' }, ['aStr1']],
]

const long = (value: number) => ({ '!': 'long', value })

/**
 * RabbitMQ compares a binding value with a header value as Erlang terms (==): at the top level the wire type
 * does not matter, only the value (an integer equals a timestamp or a whole double; a longstr equals a
 * binary), but inside an array or a table every element keeps its type, so [1 as byte] is not [1 as long].
 */
const TERM_MESSAGES: Array<[string, Record<string, unknown>]> = [
  ['int', { v: 1000 }],
  ['long', { v: long(1000) }],
  ['timestamp', { v: { '!': 'timestamp', value: 1000 } }],
  ['double', { v: { '!': 'double', value: 1000 } }],
  ['str', { v: '1000' }],
  ['bin', { v: Buffer.from('1000') }],
  ['arrByte', { arr: [1] }],
  ['arrLong', { arr: [long(1)] }],
  ['arrDouble', { arr: [{ '!': 'double', value: 1 }] }],
  ['arrStr', { arr: ['a'] }],
  ['arrBin', { arr: [Buffer.from('a')] }],
  ['tabByte', { tab: { k: 1 } }],
  ['tabLong', { tab: { k: long(1) } }],
  ['tabKL', { tab: { k: 1, l: 'x' } }],
  ['tabLK', { tab: { l: 'x', k: 1 } }],
]

const TERM_EXPECTED: Array<[string, Record<string, unknown>, string[]]> = [
  ['an integer equals a timestamp and a whole double', { v: 1000 }, ['int', 'long', 'timestamp', 'double']],
  ['a whole double equals an integer', { v: { '!': 'double', value: 1000 } }, ['int', 'long', 'timestamp', 'double']],
  ['a longstr equals a binary', { v: '1000' }, ['str', 'bin']],
  ['a binary equals a longstr', { v: Buffer.from('1000') }, ['str', 'bin']],
  ['array elements keep their integer type', { arr: [1] }, ['arrByte']],
  ['array elements keep their long type', { arr: [long(1)] }, ['arrLong']],
  ['array elements keep their string type', { arr: ['a'] }, ['arrStr']],
  ['table values keep their type', { tab: { k: 1 } }, ['tabByte']],
  ['table entries keep their order', { tab: { k: 1, l: 'x' } }, ['tabKL']],
]

describe('amqplib: headers routing', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'headers')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('x-match all / any / all-with-x / any-with-x', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'headers', { durable: false })
    const queues: string[] = []
    for (const [, args] of EXPECTED) {
      const q = scope.queue()
      await ch.assertQueue(q, { durable: false })
      // the routing key of a headers binding is ignored
      await ch.bindQueue(q, x, 'ignored', args)
      queues.push(q)
    }
    for (const [name, headers] of MESSAGES) ch.publish(x, 'any-key', Buffer.from(name), headers ? { headers } : {})
    await roundTrip(ch)
    for (const [i, [what, , expected]] of EXPECTED.entries()) {
      await waitForMessageCount(ch, queues[i]!, expected.length)
      assert.deepEqual(await drain(ch, queues[i]!), expected, what)
    }
    await conn.close()
  })

  test('binding and header values compare as RabbitMQ compares Erlang terms', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'headers', { durable: false })
    const queues: string[] = []
    for (const [, args] of TERM_EXPECTED) {
      const q = scope.queue()
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, '', args)
      queues.push(q)
    }
    for (const [name, headers] of TERM_MESSAGES) ch.publish(x, '', Buffer.from(name), { headers })
    await roundTrip(ch)
    for (const [i, [what, , expected]] of TERM_EXPECTED.entries()) {
      await waitForMessageCount(ch, queues[i]!, expected.length)
      assert.deepEqual(await drain(ch, queues[i]!), expected, what)
    }
    await conn.close()
  })

  test(
    'bindings differing only in arguments are distinct, and unbind needs the same arguments',
    TEST_TIMEOUT,
    async () => {
      const { conn, ch } = await scope.open()
      const x = scope.exchange()
      const q = scope.queue()
      await ch.assertExchange(x, 'headers', { durable: false })
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, '', { 'x-match': 'all', k: 'one' })
      await ch.bindQueue(q, x, '', { 'x-match': 'all', k: 'two' })
      ch.publish(x, '', Buffer.from('one'), { headers: { k: 'one' } })
      ch.publish(x, '', Buffer.from('two'), { headers: { k: 'two' } })
      await waitForMessageCount(ch, q, 2)
      await ch.unbindQueue(q, x, '', { 'x-match': 'all', k: 'one' })
      ch.publish(x, '', Buffer.from('one again'), { headers: { k: 'one' } })
      ch.publish(x, '', Buffer.from('two again'), { headers: { k: 'two' } })
      await waitForMessageCount(ch, q, 3)
      assert.deepEqual(await drain(ch, q), ['one', 'two', 'two again'])
      await conn.close()
    },
  )

  test('amq.match and amq.headers are headers exchanges', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    const tag = scope.name('tag')
    await ch.assertQueue(q, { durable: false })
    for (const x of ['amq.match', 'amq.headers']) {
      await ch.bindQueue(q, x, '', { 'x-match': 'all', tag })
      ch.publish(x, '', Buffer.from(x), { headers: { tag } })
      ch.publish(x, '', Buffer.from('other'), { headers: { tag: 'other' } })
    }
    await waitForMessageCount(ch, q, 2)
    assert.deepEqual(await drain(ch, q), ['amq.match', 'amq.headers'])
    for (const x of ['amq.match', 'amq.headers']) await ch.unbindQueue(q, x, '', { 'x-match': 'all', tag })
    await conn.close()
  })

  test('an invalid x-match: 406 on queue.bind', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const x = scope.exchange()
    const q = scope.queue()
    let ch = await openChannel(conn)
    await ch.assertExchange(x, 'headers', { durable: false })
    await ch.assertQueue(q, { durable: false })
    await expectChannelError(ch, ch.bindQueue(q, x, '', { 'x-match': 'some' }), {
      code: 406,
      text: 'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
      classId: 50,
      methodId: 20,
    })
    ch = await openChannel(conn)
    // amqplib encodes the number 1 as a signed byte
    await expectChannelError(ch, ch.bindQueue(q, x, '', { 'x-match': 1 }), {
      code: 406,
      text: 'PRECONDITION_FAILED - Invalid x-match field type byte (value 1); expected longstr',
    })
    await conn.close()
  })
})
