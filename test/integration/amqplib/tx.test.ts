// tx class: select / commit / rollback of publishes and acknowledgements, and the mode errors.
// amqplib has no tx API; the methods go through its channel's generic rpc().
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  confirmSelect,
  drain,
  expectChannelError,
  openChannel,
  roundTrip,
  sendAll,
  sleep,
  txCommit,
  txRollback,
  txSelect,
  waitForMessageCount,
} from '../../helpers/amqplib.js'

describe('amqplib: tx', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'tx')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('published messages appear only on commit', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    assert.deepEqual(await txSelect(ch), {})
    sendAll(ch, q, ['a', 'b'])
    await roundTrip(ch)
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'nothing before commit')
    assert.deepEqual(await txCommit(ch), {})
    assert.equal((await ch.checkQueue(q)).messageCount, 2, 'everything once commit-ok arrives')
    // the channel stays transactional: a new transaction starts after each commit
    ch.sendToQueue(q, Buffer.from('c'))
    await roundTrip(ch)
    assert.equal((await ch.checkQueue(q)).messageCount, 2)
    await txCommit(ch)
    assert.deepEqual(await drain(ch, q), ['a', 'b', 'c'])
    await conn.close()
  })

  test('rollback discards the published messages', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await txSelect(ch)
    sendAll(ch, q, ['discarded 1', 'discarded 2'])
    assert.deepEqual(await txRollback(ch), {})
    ch.sendToQueue(q, Buffer.from('kept'))
    await txCommit(ch)
    assert.deepEqual(await drain(ch, q), ['kept'])
    await conn.close()
  })

  test('uncommitted messages are discarded when the channel closes', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await txSelect(ch)
    ch.sendToQueue(q, Buffer.from('never committed'))
    await ch.close()
    const check = await openChannel(conn)
    assert.equal((await check.checkQueue(q)).messageCount, 0)
    await conn.close()
  })

  test('tx.select twice is allowed', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    await txSelect(ch)
    assert.deepEqual(await txSelect(ch), {})
    await txCommit(ch)
    await conn.close()
  })

  test('acks take effect on commit; rolled-back acks leave the messages unacked', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const ch = await openChannel(conn)
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['a', 'b', 'c'])
    await waitForMessageCount(ch, q, 3)
    const tx = await openChannel(conn)
    await txSelect(tx)
    const a = await tx.get(q)
    const b = await tx.get(q)
    const c = await tx.get(q)
    assert.ok(a && b && c)
    tx.ack(a)
    await txRollback(tx)
    // a rolled-back ack is forgotten; the message is still unacked and can be acked again
    tx.ack(a)
    tx.ack(b)
    await txCommit(tx)
    await tx.close()
    // only 'c' (never acked) is requeued when the channel closes
    await waitForMessageCount(ch, q, 1)
    assert.deepEqual(await drain(ch, q), ['c'])
    await conn.close()
  })

  test('reject with requeue in a transaction requeues on commit', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    sendAll(ch, q, ['a', 'b'])
    await waitForMessageCount(ch, q, 2)
    await txSelect(ch)
    const a = await ch.get(q)
    assert.ok(a)
    ch.reject(a, true)
    await roundTrip(ch)
    assert.equal((await ch.checkQueue(q)).messageCount, 1, 'not requeued before commit')
    await txCommit(ch)
    assert.equal((await ch.checkQueue(q)).messageCount, 2)
    const again = await ch.get(q, { noAck: true })
    assert.ok(again)
    assert.equal(again.content.toString(), 'a')
    assert.equal(again.fields.redelivered, true)
    await txCommit(ch)
    await conn.close()
  })

  test('a mandatory unroutable message is returned at commit, before commit-ok', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const x = scope.exchange()
    await ch.assertExchange(x, 'direct', { durable: false })
    await txSelect(ch)
    const events: string[] = []
    ch.on('return', (m: { content: Buffer }) => events.push(`return ${m.content.toString()}`))
    ch.publish(x, 'nowhere', Buffer.from('m'), { mandatory: true })
    await roundTrip(ch)
    await sleep(50)
    events.push('commit')
    await txCommit(ch)
    events.push('commit-ok')
    assert.deepEqual(events, ['commit', 'return m', 'commit-ok'])
    await conn.close()
  })

  test('errors in a transaction are raised immediately, not at commit', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    let ch = await openChannel(conn)
    await txSelect(ch)
    const missing = scope.name('missing')
    await expectChannelError(ch, () => ch.publish(missing, 'k', Buffer.from('x')), {
      code: 404,
      text: `NOT_FOUND - no exchange '${missing}' in vhost '/'`,
    })
    ch = await openChannel(conn)
    await txSelect(ch)
    await expectChannelError(ch, () => ch.ack({ fields: { deliveryTag: 3 } } as never), {
      code: 406,
      text: 'PRECONDITION_FAILED - unknown delivery tag 3',
    })
    await conn.close()
  })

  test('commit or rollback on a non-transactional channel: 406', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    let ch = await openChannel(conn)
    await expectChannelError(ch, txCommit(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
      classId: 90,
      methodId: 20,
    })
    ch = await openChannel(conn)
    await expectChannelError(ch, txRollback(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
      classId: 90,
      methodId: 30,
    })
    await conn.close()
  })

  test('tx and confirm modes exclude each other: 406', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    let ch = await openChannel(conn)
    await txSelect(ch)
    await expectChannelError(ch, confirmSelect(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
      classId: 85,
      methodId: 10,
    })
    ch = await openChannel(conn)
    await confirmSelect(ch)
    await expectChannelError(ch, txSelect(ch), {
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from confirm to tx mode',
      classId: 90,
      methodId: 10,
    })
    await conn.close()
  })
})
