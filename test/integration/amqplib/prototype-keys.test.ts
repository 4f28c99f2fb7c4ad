// Table keys are the client's: an argument or header named like an Object.prototype member ('constructor',
// 'hasOwnProperty', '__proto__', 'toString') is a key like any other. RabbitMQ keeps such queue and exchange
// arguments as unknown ones (not compared on redeclare), and routes on such headers as on any other.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  consume,
  drain,
  expectChannelError,
  openChannel,
  roundTrip,
  sleep,
} from '../../helpers/amqplib.js'

const KEYS = ['hasOwnProperty', 'constructor', '__proto__', 'toString', 'valueOf', 'isPrototypeOf']

/** A table with one entry under `key` (a computed key makes an own property, even for '__proto__'). */
const table = (key: string, value: unknown, extra: Record<string, unknown> = {}) => ({ ...extra, [key]: value })

describe('amqplib: keys named like Object.prototype members', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'protokeys')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('queue arguments: accepted, kept, not compared on redeclare', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    for (const key of KEYS) {
      const q = scope.queue(key)
      const ok = await ch.assertQueue(q, { durable: false, arguments: table(key, 'a') })
      assert.equal(ok.queue, q)
      await ch.assertQueue(q, { durable: false, arguments: table(key, 'b') })
      await ch.assertQueue(q, { durable: false, arguments: table(key, 1) })
      await ch.assertQueue(q, { durable: false })
      await ch.checkQueue(q)
    }
    await roundTrip(ch)
    await conn.close()
  })

  test('queue arguments: the known ones next to them are still validated and compared', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    for (const key of KEYS) {
      let ch = await openChannel(conn)
      const q = scope.queue(key)
      await expectChannelError(
        ch,
        ch.assertQueue(q, { durable: false, arguments: table(key, 'x', { 'x-max-length': -1 }) }),
        {
          code: 406,
          text: `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '${q}' in vhost '/': {value_negative,-1}`,
          classId: 50,
          methodId: 10,
        },
      )
      ch = await openChannel(conn)
      await ch.assertQueue(q, { durable: false, arguments: table(key, 'x', { 'x-max-length': 5 }) })
      await expectChannelError(
        ch,
        ch.assertQueue(q, { durable: false, arguments: table(key, 'x', { 'x-max-length': 6 }) }),
        {
          code: 406,
          text: `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received '6' but current is '5'`,
          classId: 50,
          methodId: 10,
        },
      )
    }
    await conn.close()
  })

  test('exchange, binding and consumer arguments', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    for (const key of KEYS) {
      const x = scope.exchange(key)
      const q = scope.queue(key)
      await ch.assertExchange(x, 'direct', { durable: false, arguments: table(key, 'a') })
      await ch.assertExchange(x, 'direct', { durable: false, arguments: table(key, 2) })
      await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(q, x, 'k', table(key, 'a'))
      ch.publish(x, 'k', Buffer.from('bound'))
      await ch.unbindQueue(q, x, 'k', table(key, 'a'))
      ch.publish(x, 'k', Buffer.from('unbound'))
      await sleep(50)
      assert.deepEqual(await drain(ch, q), ['bound'], `${key}: the binding with that argument is removed by unbind`)
      const { consumerTag } = await consume(ch, q, { arguments: table(key, 1) })
      await ch.cancel(consumerTag)
    }
    await roundTrip(ch)
    await conn.close()
  })

  test('headers exchange: bindings and headers with these keys route like any other', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    for (const key of KEYS) {
      const x = scope.exchange(key)
      const all = scope.queue(`${key}-all`)
      const any = scope.queue(`${key}-any`)
      const present = scope.queue(`${key}-present`)
      await ch.assertExchange(x, 'headers', { durable: false })
      for (const q of [all, any, present]) await ch.assertQueue(q, { durable: false })
      await ch.bindQueue(all, x, '', table(key, 'v', { 'x-match': 'all', other: 'o' }))
      await ch.bindQueue(any, x, '', table(key, 'v', { 'x-match': 'any' }))
      // A void value matches the header with any value, but only when the header is there
      await ch.bindQueue(present, x, '', table(key, null, { 'x-match': 'all' }))
      const send = (body: string, headers: Record<string, unknown> | undefined) =>
        ch.publish(x, '', Buffer.from(body), headers ? { headers } : {})
      send('none', undefined)
      send('empty', {})
      send('other only', { other: 'o' })
      send('key only', table(key, 'v'))
      send('both', table(key, 'v', { other: 'o' }))
      send('wrong value', table(key, 'w', { other: 'o' }))
      await sleep(100)
      assert.deepEqual(await drain(ch, all), ['both'], `${key}: x-match all`)
      assert.deepEqual(await drain(ch, any), ['key only', 'both'], `${key}: x-match any`)
      assert.deepEqual(await drain(ch, present), ['key only', 'both', 'wrong value'], `${key}: void value`)
    }
    await roundTrip(ch)
    await conn.close()
  })

  test('dead-lettering keeps headers with these keys', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const dlx = scope.exchange('dlx')
    const dlq = scope.queue('dlq')
    const q = scope.queue('source')
    const headers = Object.fromEntries(KEYS.map((k) => [k, `value of ${k}`]))
    // A headers exchange that routes only what still carries every one of them, '__proto__' included
    // (amqplib cannot show us that one: decoding it sets the object's prototype)
    await ch.assertExchange(dlx, 'headers', { durable: false })
    await ch.assertQueue(dlq, { durable: false })
    await ch.bindQueue(dlq, dlx, '', { 'x-match': 'all', ...headers })
    await ch.assertQueue(q, { durable: false, deadLetterExchange: dlx })
    ch.sendToQueue(q, Buffer.from('dies'), { headers })
    let got: Awaited<ReturnType<typeof ch.get>> = false
    for (let i = 0; i < 50 && !got; i++) got = (await ch.get(q)) || (await sleep(10), false)
    assert.ok(got, 'the message arrived')
    ch.reject(got, false)
    let dead: Awaited<ReturnType<typeof ch.get>> = false
    for (let i = 0; i < 50 && !dead; i++) dead = (await ch.get(dlq, { noAck: true })) || (await sleep(10), false)
    assert.ok(dead, 'the message was dead-lettered with all its headers')
    const h = dead.properties.headers ?? {}
    for (const k of KEYS.filter((k) => k !== '__proto__')) {
      assert.equal(Object.hasOwn(h, k) ? h[k] : undefined, `value of ${k}`, k)
    }
    assert.equal(h['x-first-death-reason'], 'rejected')
    await conn.close()
  })
})
