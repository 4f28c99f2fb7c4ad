// Warren's chosen difference (docs/differences.md): a quorum queue is accepted and runs as a durable classic
// queue, so applications that ask for one start and keep their messages. Warren only: RabbitMQ makes a real
// quorum queue, with its own headers and limits.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import { Scope, TEST_TIMEOUT, expectChannelError } from '../../helpers/amqplib.js'

describe('amqplib: quorum queues run as durable classic queues', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'quorum')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('declared, used like a durable queue, and compared by type on redeclare', TEST_TIMEOUT, async (t) => {
    if (broker.external) return t.skip('Warren only: RabbitMQ makes a real quorum queue')
    const { ch } = await scope.open()
    const q = scope.queue()
    const args = { 'x-queue-type': 'quorum' }
    const ok = await ch.assertQueue(q, { durable: true, arguments: args })
    assert.deepEqual(ok, { queue: q, messageCount: 0, consumerCount: 0 })
    ch.sendToQueue(q, Buffer.from('kept'), { persistent: true })
    const got = await ch.get(q, { noAck: true })
    assert.ok(got)
    assert.equal(got.content.toString(), 'kept')
    assert.equal(got.properties.headers?.['x-delivery-count'], undefined, 'no quorum delivery-count header')
    await ch.assertQueue(q, { durable: true, arguments: args })
    await expectChannelError(ch, ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'classic' } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '${q}' in vhost '/': received 'classic' but current is 'quorum'`,
    })
  })
})
