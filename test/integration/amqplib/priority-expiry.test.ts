// Warren's chosen difference (docs/differences.md): a message whose priority puts it at the head of a
// priority queue is expired there like any head, and never delivered after its TTL. RabbitMQ 3.10 checks
// expiry on publish only when the new message is alone in the queue, so such a message (TTL 0 here) can
// still be delivered, although its documentation says expired messages never are.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import { Scope, TEST_TIMEOUT, sleep } from '../../helpers/amqplib.js'

describe('amqplib: expiry at the head of a priority queue', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'prio-ttl')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('an expired message that overtook others by priority is not delivered', TEST_TIMEOUT, async (t) => {
    if (broker.external) return t.skip('Warren only: RabbitMQ 3.10 delivers it (docs/differences.md)')
    const { ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 1 } })
    ch.sendToQueue(q, Buffer.from('low'), { priority: 0 })
    ch.sendToQueue(q, Buffer.from('high, expired'), { priority: 1, expiration: '0' })
    ch.sendToQueue(q, Buffer.from('high, expiring'), { priority: 1, expiration: '50' })
    await sleep(100)
    const bodies: string[] = []
    await ch.consume(q, (m) => m && bodies.push(m.content.toString()), { noAck: true })
    await sleep(100)
    assert.deepEqual(bodies, ['low'])
  })
})
