// Expiries and TTLs longer than a Node timer can wait (2^31-1 ms, about 24.8 days): a 30-day x-expires or a
// TTL of 2^32-1 ms must keep the queue and its messages, not fire at once. RabbitMQ accepts them up to ten
// years (315360000000 ms) and refuses larger ones with value_too_large.
import { describe, test, before, after, beforeEach } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type InProcessBroker, type TestBroker } from '../../helpers/broker.js'
import { Scope, TEST_TIMEOUT, expectChannelError, openChannel, sleep } from '../../helpers/amqplib.js'

const THIRTY_DAYS = 2_592_000_000
const MAX_UINT32 = 4_294_967_295
const TEN_YEARS = 315_360_000_000

const long = (value: number) => ({ '!': 'long', value })

/** Node warns when a timer is asked to wait longer than it can, and waits 1 ms instead (in-process broker). */
const overflowWarnings: string[] = []
const onWarning = (w: Error) => {
  if (w.name === 'TimeoutOverflowWarning') overflowWarnings.push(w.message)
}

describe('amqplib: expiries and TTLs beyond 2^31-1 ms', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'longtimers')
    process.on('warning', onWarning)
  })
  beforeEach(() => {
    overflowWarnings.length = 0
  })
  after(async () => {
    process.off('warning', onWarning)
    await scope.cleanup()
    await broker.stop()
  })

  test('a queue with x-expires of 30 days, or ten years, keeps itself and its messages', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const queues = [scope.queue('expires30d'), scope.queue('expires10y')]
    await ch.assertQueue(queues[0]!, { durable: false, expires: THIRTY_DAYS })
    await ch.assertQueue(queues[1]!, { durable: false, arguments: { 'x-expires': long(TEN_YEARS) } })
    for (const q of queues) ch.sendToQueue(q, Buffer.from('kept'))
    await sleep(300)
    for (const q of queues) assert.equal((await ch.checkQueue(q)).messageCount, 1, `${q} and its message remain`)
    assert.deepEqual(overflowWarnings, [], 'no timer was given a delay it cannot wait')
    await conn.close()
  })

  test(
    'x-message-ttl of 2^32-1 ms and per-message expirations up to ten years keep messages',
    TEST_TIMEOUT,
    async () => {
      const { conn, ch } = await scope.open()
      const ttlQueue = scope.queue('ttl')
      const plain = scope.queue('plain')
      await ch.assertQueue(ttlQueue, { durable: false, messageTtl: MAX_UINT32 })
      await ch.assertQueue(plain, { durable: false })
      ch.sendToQueue(ttlQueue, Buffer.from('queue ttl'))
      ch.sendToQueue(ttlQueue, Buffer.from('both'), { expiration: String(MAX_UINT32) })
      ch.sendToQueue(plain, Buffer.from('2^32-1'), { expiration: String(MAX_UINT32) })
      ch.sendToQueue(plain, Buffer.from('30 days'), { expiration: String(THIRTY_DAYS) })
      ch.sendToQueue(plain, Buffer.from('ten years'), { expiration: String(TEN_YEARS) })
      await sleep(300)
      const bodies = async (q: string) => {
        const out: string[] = []
        for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) {
          out.push(m.content.toString())
        }
        return out
      }
      assert.deepEqual(await bodies(ttlQueue), ['queue ttl', 'both'])
      assert.deepEqual(await bodies(plain), ['2^32-1', '30 days', 'ten years'])
      // A TTL timer that fires at once finds nothing expired and re-arms, again and again: a busy loop
      assert.deepEqual(overflowWarnings, [], 'no timer was given a delay it cannot wait')
      await conn.close()
    },
  )

  test('expiries and TTLs beyond ten years are refused as RabbitMQ refuses them', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    for (const arg of ['x-expires', 'x-message-ttl']) {
      const ch = await openChannel(conn)
      const q = scope.queue()
      await expectChannelError(ch, ch.assertQueue(q, { durable: false, arguments: { [arg]: long(TEN_YEARS + 1) } }), {
        code: 406,
        text: `PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/': {value_too_large,${TEN_YEARS + 1}}`,
        classId: 50,
        methodId: 10,
      })
    }
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await expectChannelError(ch, () => ch.sendToQueue(q, Buffer.from('x'), { expiration: String(TEN_YEARS + 1) }), {
      code: 406,
      text: `PRECONDITION_FAILED - invalid expiration '${TEN_YEARS + 1}': {value_too_large,${TEN_YEARS + 1}}`,
    })
    await conn.close()
  })
})

// Policies are set through the definitions file or the broker's API, not AMQP: Warren only
describe('policy expires and message-ttl beyond 2^31-1 ms (Warren)', () => {
  let server: InProcessBroker
  let scope: Scope

  before(async () => {
    server = await startBroker({ inProcess: true })
    scope = new Scope(server.url, 'longpolicy')
    process.on('warning', onWarning)
  })
  beforeEach(() => {
    overflowWarnings.length = 0
  })
  after(async () => {
    process.off('warning', onWarning)
    await scope.cleanup()
    await server.stop()
  })

  test(
    'a policy expires of 30 days keeps the queue; a message-ttl of 2^32-1 ms keeps its messages',
    TEST_TIMEOUT,
    async () => {
      const { conn, ch } = await scope.open()
      const expiring = scope.queue('policy-expires')
      const ttl = scope.queue('policy-ttl')
      const vhost = server.broker.vhosts.get('/')!
      const policy = (name: string, pattern: string, definition: Record<string, number>) =>
        vhost.setPolicy({ vhost: '/', name, pattern, applyTo: 'queues', priority: 0, definition })
      // One policy set before the declare, one applied to a queue that exists already
      policy('long-expires', `^${expiring.replaceAll('.', '\\.')}$`, { expires: THIRTY_DAYS })
      await ch.assertQueue(expiring, { durable: false })
      await ch.assertQueue(ttl, { durable: false })
      policy('long-ttl', `^${ttl.replaceAll('.', '\\.')}$`, { 'message-ttl': MAX_UINT32, expires: MAX_UINT32 })
      ch.sendToQueue(expiring, Buffer.from('kept'))
      ch.sendToQueue(ttl, Buffer.from('kept'))
      await sleep(300)
      assert.equal((await ch.checkQueue(expiring)).messageCount, 1)
      assert.equal((await ch.checkQueue(ttl)).messageCount, 1)
      assert.deepEqual(overflowWarnings, [], 'no timer was given a delay it cannot wait')
      await conn.close()
    },
  )

  test('a policy expires of 0 is refused, as RabbitMQ refuses it', () => {
    const vhost = server.broker.vhosts.get('/')!
    assert.throws(
      () =>
        vhost.setPolicy({
          vhost: '/',
          name: 'zero',
          pattern: '.*',
          applyTo: 'queues',
          priority: 0,
          definition: { expires: 0 },
        }),
      /policy 'zero': policy key 'expires' takes a positive integer/,
    )
    assert.equal(vhost.policies.has('zero'), false)
  })
})
