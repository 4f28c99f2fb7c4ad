// A queue on its own, with consumers that record what it hands them: round robin among consumers with
// credit, requeued messages back at their places, length limits, and message TTLs (on a mocked clock).
import assert from 'node:assert/strict'
import { afterEach, mock, test } from 'node:test'
import { Queue } from '../../../src/broker/queue/queue.js'
import { FakeConsumer, message, nextTick, queueOptions, recordingHooks, takeAll } from './broker-model.js'

function queue(args = {}, hooks = recordingHooks()): Queue {
  const q = new Queue('q', '/', queueOptions(args), null, {}, hooks)
  q.start()
  return q
}

afterEach(() => mock.timers.reset())

test('two consumers with credit take turns; a message waits until one has credit again', async () => {
  const q = queue()
  const first = new FakeConsumer('first', 2)
  const second = new FakeConsumer('second', 2)
  q.addConsumer(first)
  q.addConsumer(second)
  for (const body of ['m1', 'm2', 'm3', 'm4', 'm5']) assert.equal(q.enqueue(message(body)), 'enqueued')
  assert.deepEqual(first.bodies, ['m1', 'm3'])
  assert.deepEqual(second.bodies, ['m2', 'm4'])
  // Neither can take m5: it is ready, and counted as such
  assert.equal(q.messageCount, 1)
  assert.equal(q.unackedCount, 4)
  second.credit = 1
  q.scheduleDrain()
  await nextTick()
  assert.deepEqual(second.bodies, ['m2', 'm4', 'm5'])
  assert.deepEqual(first.bodies, ['m1', 'm3'])
  assert.equal(q.messageCount, 0)
})

test('a consumer of higher priority is served first while it has credit', () => {
  const q = queue()
  const low = new FakeConsumer('low', Infinity, false, 0)
  const high = new FakeConsumer('high', 1, false, 5)
  q.addConsumer(low)
  q.addConsumer(high)
  q.enqueue(message('m1'))
  q.enqueue(message('m2'))
  assert.deepEqual(high.bodies, ['m1'])
  assert.deepEqual(low.bodies, ['m2'])
})

test('requeued messages go back to their places, marked redelivered, whatever order they come back in', () => {
  const q = queue()
  const consumer = new FakeConsumer('c', 3)
  q.addConsumer(consumer)
  for (const body of ['m1', 'm2', 'm3', 'm4']) q.enqueue(message(body))
  assert.deepEqual(consumer.bodies, ['m1', 'm2', 'm3'])
  q.removeConsumer(consumer)
  const [e1, e2, e3] = consumer.received
  q.requeue([e3!, e1!])
  assert.equal(q.unackedCount, 1)
  const taken = []
  for (let e = q.take(true); e; e = q.take(true)) taken.push([e.message.body.toString(), e.redelivered])
  assert.deepEqual(taken, [
    ['m1', true],
    ['m3', true],
    ['m4', false],
  ])
  q.ack(e2!)
  assert.equal(q.unackedCount, 0)
})

test('x-max-length with reject-publish refuses publishes over the limit; the default drops the head', () => {
  const rejecting = queue({ 'x-max-length': 1, 'x-overflow': 'reject-publish' })
  assert.equal(rejecting.enqueue(message('m1')), 'enqueued')
  assert.equal(rejecting.enqueue(message('m2')), 'refused')
  assert.deepEqual(takeAll(rejecting), ['m1'])

  const hooks = recordingHooks()
  const dropping = queue({ 'x-max-length': 1, 'x-dead-letter-exchange': 'dlx' }, hooks)
  assert.equal(dropping.enqueue(message('m1')), 'enqueued')
  assert.equal(dropping.enqueue(message('m2')), 'enqueued')
  assert.deepEqual(hooks.deadLetters, [{ queue: 'q', body: 'm1', reason: 'maxlen' }])
  assert.deepEqual(takeAll(dropping), ['m2'])
})

test('x-message-ttl: messages expire at the head, in order, and go to the dead-letter exchange', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
  const hooks = recordingHooks()
  const q = queue({ 'x-message-ttl': 1000, 'x-dead-letter-exchange': 'dlx' }, hooks)
  q.enqueue(message('m1'))
  mock.timers.tick(400)
  q.enqueue(message('m2'))
  mock.timers.tick(599)
  assert.equal(q.messageCount, 2)
  assert.equal(hooks.deadLetters.length, 0)
  mock.timers.tick(1)
  assert.equal(q.messageCount, 1)
  assert.deepEqual(hooks.deadLetters, [{ queue: 'q', body: 'm1', reason: 'expired' }])
  mock.timers.tick(400)
  assert.equal(q.messageCount, 0)
  assert.deepEqual(
    hooks.deadLetters.map((d) => d.body),
    ['m1', 'm2'],
  )
})

test('deleting a queue cancels its consumers, drops its ready messages and lets go of its store', () => {
  const q = queue()
  const consumer = new FakeConsumer('c', 0)
  q.addConsumer(consumer)
  q.enqueue(message('m1'))
  q.enqueue(message('m2'))
  assert.equal(q.delete(), 2)
  assert.equal(consumer.cancelled, true)
  assert.equal(q.consumerCount, 0)
  assert.equal(q.store, null)
})
