// Publishing through a vhost, without sockets: one call routes the message and puts it into its queues,
// and its result says what the server tells the client (basic.return, the confirm, a direct reply).
import assert from 'node:assert/strict'
import { afterEach, mock, test } from 'node:test'
import { Durability } from '../../../src/broker/durability.js'
import type { ReplyTarget } from '../../../src/broker/direct-reply-to.js'
import type { Message } from '../../../src/broker/message.js'
import type { Vhost } from '../../../src/broker/vhost.js'
import { MessageStore } from '../../../src/store/message-store.js'
import { capturingLogger, withTempDir } from '../store/store-helpers.js'
import { FakeConsumer, message, nextTick, queueOptions, takeAll, testVhost } from './broker-model.js'

const owner = {}
const fanout = { durable: false, autoDelete: false, internal: false, arguments: {} }

afterEach(() => mock.timers.reset())

function declare(vhost: Vhost, name: string, args = {}, durable = false) {
  return vhost.declareQueue(name, queueOptions(args, durable), false, owner).queue
}

test('a routed message is in its queue; an unroutable one reaches none', () => {
  const vhost = testVhost()
  const q = declare(vhost, 'q')
  vhost.bindQueue('q', 'amq.direct', 'key', {}, owner)

  const toQueue = vhost.publish(vhost.defaultExchange, message('by name', 'q'))
  assert.deepEqual([toQueue.routed, toQueue.queues, toQueue.refused, toQueue.stored], [true, [q], false, false])
  const bound = vhost.publish(vhost.getExchange('amq.direct'), message('by binding', 'key'))
  assert.deepEqual([bound.routed, bound.queues], [true, [q]])
  const nowhere = vhost.publish(vhost.getExchange('amq.direct'), message('lost', 'other'))
  assert.deepEqual([nowhere.routed, nowhere.queues, nowhere.refused], [false, [], false])
  assert.deepEqual(takeAll(q), ['by name', 'by binding'])
})

test('CC keys and exchange-to-exchange bindings reach each queue once', () => {
  const vhost = testVhost()
  const a = declare(vhost, 'a')
  const b = declare(vhost, 'b')
  vhost.declareExchange('x', 'fanout', fanout, false)
  vhost.bindExchange('x', 'amq.direct', 'k1', {})
  vhost.bindQueue('a', 'x', '', {}, owner)
  vhost.bindQueue('a', 'amq.direct', 'k2', {}, owner)
  vhost.bindQueue('b', 'amq.direct', 'k2', {}, owner)
  const r = vhost.publish(vhost.getExchange('amq.direct'), message('m', 'k1'), ['k2'])
  assert.deepEqual(new Set(r.queues), new Set([a, b]))
  assert.equal(r.queues.length, 2)
  assert.deepEqual([takeAll(a), takeAll(b)], [['m'], ['m']])
})

test('a queue at its x-max-length with reject-publish refuses the message; the other queues take it', () => {
  const vhost = testVhost()
  vhost.declareExchange('x', 'fanout', fanout, false)
  const full = declare(vhost, 'full', { 'x-max-length': 1, 'x-overflow': 'reject-publish' })
  const open = declare(vhost, 'open')
  vhost.bindQueue('full', 'x', '', {}, owner)
  vhost.bindQueue('open', 'x', '', {}, owner)
  const x = vhost.getExchange('x')

  const first = vhost.publish(x, message('m1'))
  assert.deepEqual([first.routed, first.refused], [true, false])
  const second = vhost.publish(x, message('m2'))
  // Routed (not returned) but refused: the publisher gets a nack
  assert.deepEqual([second.routed, second.refused, second.queues.length], [true, true, 2])
  assert.deepEqual(takeAll(full), ['m1'])
  assert.deepEqual(takeAll(open), ['m1', 'm2'])
})

test('a persistent message in a durable queue is stored: its confirm waits for the batch it was written in', () =>
  withTempDir(async (dir) => {
    const store = new MessageStore(dir, capturingLogger().log)
    const vhost = testVhost({ durability: new Durability(store) })
    const durable = declare(vhost, 'durable', {}, true)
    const transient = declare(vhost, 'transient')
    try {
      const persistent = { deliveryMode: 2 }
      const stored = vhost.publish(vhost.defaultExchange, message('p', 'durable', persistent))
      assert.deepEqual([stored.stored, stored.refused], [true, false])
      assert.equal(stored.batch, store.currentBatch)
      assert.ok(stored.batch > store.durableBatch, 'the batch is not synced yet')
      const batch = stored.batch

      assert.equal(vhost.publish(vhost.defaultExchange, message('t', 'durable')).stored, false)
      assert.equal(vhost.publish(vhost.defaultExchange, message('p', 'transient', persistent)).stored, false)
      await store.flush()
      assert.ok(store.durableBatch >= batch)
      assert.equal(durable.messageCount, 2)
      assert.equal(transient.messageCount, 1)
    } finally {
      vhost.deleteQueue('durable', false, false, owner)
      await store.close()
    }
  }))

test('x-message-ttl with a dead-letter exchange: the expired message is republished with its x-death', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
  const vhost = testVhost()
  vhost.declareExchange('dlx', 'fanout', fanout, false)
  const work = declare(vhost, 'work', { 'x-message-ttl': 5000, 'x-dead-letter-exchange': 'dlx' })
  const dead = declare(vhost, 'dead')
  vhost.bindQueue('dead', 'dlx', '', {}, owner)

  vhost.publish(vhost.defaultExchange, message('late', 'work'))
  mock.timers.tick(4999)
  assert.deepEqual([work.messageCount, dead.messageCount], [1, 0])
  mock.timers.tick(1)
  assert.deepEqual([work.messageCount, dead.messageCount], [0, 1])
  const entry = dead.take(true)!
  assert.equal(entry.message.body.toString(), 'late')
  const [death] = entry.message.headers!['x-death'] as Record<string, unknown>[]
  assert.equal(death!['reason'], 'expired')
  assert.equal(death!['queue'], 'work')
})

test('a consumer with credit gets a published message at once; without credit it waits in the queue', async () => {
  const vhost = testVhost()
  const q = declare(vhost, 'q')
  const consumer = new FakeConsumer('c', 1)
  q.addConsumer(consumer)
  vhost.publish(vhost.defaultExchange, message('m1', 'q'))
  vhost.publish(vhost.defaultExchange, message('m2', 'q'))
  assert.deepEqual(consumer.bodies, ['m1'])
  assert.equal(q.messageCount, 1)
  consumer.credit = 1
  q.scheduleDrain()
  await nextTick()
  assert.deepEqual(consumer.bodies, ['m1', 'm2'])
})

test('direct reply-to: a reply address of the default exchange resolves to its consumer, through no queue', () => {
  const vhost = testVhost()
  const replies: Message[] = []
  const target: ReplyTarget = { deliverReply: (m) => replies.push(m) > 0 }
  const address = vhost.directReplyTo.register(target)
  assert.match(address, /^amq\.rabbitmq\.reply-to\./)
  assert.equal(vhost.directReplyTo.isAddress(address), true)
  assert.equal(vhost.directReplyTo.isAddress('amq.rabbitmq.reply-to'), true)

  const reply = vhost.publish(vhost.defaultExchange, message('answer', address))
  assert.deepEqual([reply.replyTo === target, reply.routed, reply.queues], [true, true, []])
  // Through another exchange the address is an ordinary routing key
  const elsewhere = vhost.publish(vhost.getExchange('amq.direct'), message('answer', address))
  assert.deepEqual([elsewhere.replyTo, elsewhere.routed], [undefined, false])

  vhost.directReplyTo.unregister(address)
  assert.equal(vhost.directReplyTo.isAddress(address), false)
  const gone = vhost.publish(vhost.defaultExchange, message('too late', address))
  assert.deepEqual([gone.replyTo, gone.routed, gone.refused], [undefined, false, false])
  // The vhost only resolves the target: delivering is the server's
  assert.equal(replies.length, 0)
})

test('in a transaction a message is routed when published and enqueued at commit, in the queues still there', () => {
  const vhost = testVhost()
  const kept = declare(vhost, 'kept')
  declare(vhost, 'deleted')
  vhost.declareExchange('x', 'fanout', fanout, false)
  vhost.bindQueue('kept', 'x', '', {}, owner)
  vhost.bindQueue('deleted', 'x', '', {}, owner)

  const held = vhost.publish(vhost.getExchange('x'), message('m'), undefined, true)
  assert.equal(held.held, true)
  const queues = [...held.queues]
  assert.equal(queues.length, 2)
  assert.equal(kept.messageCount, 0)

  vhost.deleteQueue('deleted', false, false, owner)
  const committed = vhost.enqueue(queues, message('m'))
  assert.deepEqual([committed.held, committed.routed, committed.queues], [false, true, [kept]])
  assert.equal(kept.messageCount, 1)
  vhost.deleteQueue('kept', false, false, owner)
  assert.equal(vhost.enqueue(queues, message('m')).routed, false)
})
