// The message counters (broker/stats.ts) as the model counts them, without sockets: exchanges count what is
// published to them and routed from them, queues what they take, deliver, give by basic.get and see acked;
// a vhost's and the broker's totals keep the counts of deleted queues and vhosts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  BrokerCounters,
  brokerTotals,
  exchangeMessageStats,
  queueMessageStats,
  totalMessageStats,
  vhostTotals,
} from '../../../src/broker/stats.js'
import type { Vhost } from '../../../src/broker/vhost.js'
import { FakeConsumer, message, nextTick, queueOptions, testVhost } from './broker-model.js'

const owner = {}
const fanout = { durable: false, autoDelete: false, internal: false, arguments: {} }

function declare(vhost: Vhost, name: string, args = {}) {
  return vhost.declareQueue(name, queueOptions(args), false, owner).queue
}

test('an exchange counts publishes in and the copies routed out; each queue what it took', () => {
  const vhost = testVhost()
  vhost.declareExchange('x', 'fanout', fanout, false)
  const a = declare(vhost, 'a')
  const b = declare(vhost, 'b')
  vhost.bindQueue('a', 'x', '', {}, owner)
  vhost.bindQueue('b', 'x', '', {}, owner)
  const x = vhost.getExchange('x')
  vhost.publish(x, message('m1'))
  vhost.publish(x, message('m2'))
  vhost.publish(vhost.defaultExchange, message('m3', 'a'))
  vhost.publish(vhost.defaultExchange, message('lost', 'nowhere'))

  assert.deepEqual(exchangeMessageStats(x.stats), { publish_in: 2, publish_out: 4 })
  assert.deepEqual(exchangeMessageStats(vhost.defaultExchange.stats), { publish_in: 2, publish_out: 1 })
  assert.equal(a.stats.publish, 3)
  assert.equal(b.stats.publish, 2)
  assert.equal(vhostTotals(vhost).publish, 5)
})

test('a refused publish and a dead letter are not counted as published into the queue', () => {
  const vhost = testVhost()
  const full = declare(vhost, 'full', { 'x-max-length': 1, 'x-overflow': 'reject-publish' })
  const dlq = declare(vhost, 'dlq')
  const q = declare(vhost, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' })
  vhost.publish(vhost.defaultExchange, message('kept', 'full'))
  vhost.publish(vhost.defaultExchange, message('refused', 'full'))
  vhost.publish(vhost.defaultExchange, message('dies', 'q'))
  q.reject(q.take(false)!)

  assert.equal(full.stats.publish, 1)
  assert.equal(q.stats.publish, 1)
  assert.equal(dlq.messageCount, 1)
  assert.equal(dlq.stats.publish, 0)
  // a reject is not an ack
  assert.equal(q.stats.ack, 0)
})

test('a queue counts deliveries and gets with and without ack, redeliveries, empty gets and acks', async () => {
  const vhost = testVhost()
  const q = declare(vhost, 'q')
  for (let i = 0; i < 6; i++) vhost.publish(vhost.defaultExchange, message(`m${i}`, 'q'))

  const got = q.take(false)! // get, manual ack
  q.take(true) // get, no ack
  q.ack(got)
  const manual = new FakeConsumer('manual', 2)
  q.addConsumer(manual)
  await nextTick()
  assert.equal(manual.received.length, 2)
  // one of them goes back and comes again, flagged redelivered
  q.requeue([manual.received[1]!])
  q.removeConsumer(manual)
  const auto = new FakeConsumer('auto', Infinity, true)
  q.addConsumer(auto)
  await nextTick()
  assert.deepEqual(auto.bodies, ['m3', 'm4', 'm5'])
  q.removeConsumer(auto)
  assert.equal(q.take(false), undefined)
  q.ack(manual.received[0]!)

  assert.deepEqual(queueMessageStats(q.stats), {
    publish: 6,
    deliver_get: 7,
    deliver: 2,
    deliver_no_ack: 3,
    get: 1,
    get_no_ack: 1,
    get_empty: 1,
    redeliver: 1,
    ack: 2,
  })
})

test("a vhost's totals keep a deleted queue's counts; the broker's keep a deleted vhost's", () => {
  const broker = new BrokerCounters()
  const one = testVhost()
  const two = testVhost()
  const q1 = declare(one, 'q')
  declare(two, 'q')
  for (const vhost of [one, two]) vhost.publish(vhost.defaultExchange, message('m', 'q'))
  one.stats.publishing.received += 1
  two.stats.publishing.received += 1
  q1.ack(q1.take(false)!)

  one.deleteQueue('q', false, false, owner)
  assert.equal(one.queues.size, 0)
  assert.deepEqual([vhostTotals(one).publish, vhostTotals(one).ack, vhostTotals(one).get], [1, 1, 1])

  const before = brokerTotals(broker, [one, two])
  broker.retireVhost(one)
  const after = brokerTotals(broker, [two])
  // Every count the same; createdAt is when each sum was made (they differ when a millisecond passes between)
  assert.deepEqual({ ...after, createdAt: 0 }, { ...before, createdAt: 0 })
  assert.deepEqual(totalMessageStats(after), {
    publish: 2, // the channels' publishes, not the queues'
    confirm: 0,
    return_unroutable: 0,
    drop_unroutable: 0,
    deliver_get: 1,
    deliver: 0,
    deliver_no_ack: 0,
    get: 1,
    get_no_ack: 0,
    get_empty: 0,
    redeliver: 0,
    ack: 1,
  })
})
