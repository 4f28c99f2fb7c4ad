// A clean shutdown (SIGTERM) and restart, twice, on the same data directory, with amqplib.
//
// Clients are told: connection.close 320 CONNECTION_FORCED "broker forced connection closure with reason
// 'shutdown'", and the process exits 0. After the restart a durable queue holds exactly its persistent
// messages that were not acked, in order; those that had been delivered (to a consumer or basic.get, or
// rejected with requeue) come back with redelivered=true, the others with redelivered=false. Transient
// messages, transient queues and exchanges, and bindings involving them are gone.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import type { Channel, ChannelModel, ConfirmChannel, GetMessage, Message } from 'amqplib'
import {
  Inbox,
  assertClose,
  connect,
  expectChannelError,
  openChannel,
  openConfirmChannel,
  roundTrip,
  whenConnectionClosed,
  withTimeout,
} from '../helpers/amqplib.js'
import { startBrokerProcess, stopAllBrokerProcesses, type BrokerProcess } from '../helpers/broker-process.js'

// amqplib reports it as an 'error' on the connection, then 'close' with the same error:
// Error('Connection closed: 320 (CONNECTION-FORCED) with message "CONNECTION_FORCED - broker forced connection
// closure with reason \'shutdown\'"'), code 320 (amqplib keeps no class or method id for a connection.close)
const SHUTDOWN_TEXT = "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'"
const SHUTDOWN_MESSAGE = `Connection closed: 320 (CONNECTION-FORCED) with message "${SHUTDOWN_TEXT}"`

const DX = 'cs.durable.x'
const TX = 'cs.transient.x'
const DQ = 'cs.durable'
const DQ2 = 'cs.durable2'
const TQ = 'cs.transient'

/** m0..m11: persistent unless i % 3 === 1 */
const persistent = (i: number): boolean => i % 3 !== 1
const bodyOf = (name: string): Buffer => Buffer.from(`body of ${name} ` + 'x'.repeat(name.length * 7))

function publishOptions(name: string, isPersistent: boolean) {
  return {
    persistent: isPersistent,
    messageId: name,
    correlationId: `corr-${name}`,
    contentType: 'text/plain',
    headers: { name, n: name.length, nested: { ok: true } },
  }
}

/** What a test can compare: name, redelivered flag, and whether body and properties came back intact. */
function describeMessage(msg: Message): { name: string; redelivered: boolean; intact: boolean } {
  const name = String(msg.properties.messageId)
  const p = msg.properties
  const h = (p.headers ?? {}) as Record<string, unknown>
  const intact =
    msg.content.equals(bodyOf(name)) &&
    p.deliveryMode === 2 &&
    p.correlationId === `corr-${name}` &&
    p.contentType === 'text/plain' &&
    JSON.stringify(h) === JSON.stringify({ name, n: name.length, nested: { ok: true } })
  return { name, redelivered: msg.fields.redelivered, intact }
}

async function getAll(ch: Channel, queue: string): Promise<GetMessage[]> {
  const out: GetMessage[] = []
  for (;;) {
    const msg = await ch.get(queue, { noAck: false })
    if (msg === false) return out
    out.push(msg)
  }
}

/** SIGTERM: every connection gets 320 CONNECTION_FORCED and the process exits 0. */
async function shutDown(broker: BrokerProcess, connections: ChannelModel[]): Promise<void> {
  const closes = connections.map((c) => whenConnectionClosed(c, 10_000))
  const exit = await broker.stop()
  assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM; stderr: ${broker.stderr()}`)
  for (const [i, closed] of closes.entries()) {
    const err = await closed
    assertClose(err, { code: 320, text: SHUTDOWN_TEXT }, `connection ${i} at shutdown`)
    assert.equal(err?.message, SHUTDOWN_MESSAGE)
  }
  const messages = broker.logs().map((l) => l.msg)
  assert.ok(messages.includes('shutting down'), 'logged "shutting down"')
  assert.ok(messages.includes('Warren stopped'), 'logged "Warren stopped"')
  assert.deepEqual(
    broker.logs().filter((l) => l.level === 'error' || l.level === 'fatal'),
    [],
    'no error logged',
  )
}

function recoveredCount(broker: BrokerProcess): unknown {
  return broker.logs().find((l) => l.msg === 'durable state recovered')?.['messages']
}

describe(
  'clean shutdown (SIGTERM) and restart',
  { skip: process.env['WARREN_TEST_URL'] ? 'stops and restarts a broker process' : false },
  () => {
    after(stopAllBrokerProcesses)

    test(
      'persistent messages of durable queues survive, with their redelivered flags',
      { timeout: 60_000 },
      async () => {
        // ---- first life
        let broker = await startBrokerProcess()
        const pubConn = await connect(broker.url)
        const pub: ConfirmChannel = await openConfirmChannel(pubConn)
        await pub.assertExchange(DX, 'direct', { durable: true })
        await pub.assertExchange(TX, 'direct', { durable: false })
        await pub.assertQueue(DQ, { durable: true })
        await pub.assertQueue(DQ2, { durable: true })
        await pub.assertQueue(TQ, { durable: false })
        await pub.bindQueue(DQ, DX, 'k')
        await pub.bindQueue(TQ, DX, 'k')
        await pub.bindQueue(DQ, TX, 'k') // transient: its exchange is
        for (let i = 0; i < 12; i++) pub.publish(DX, 'k', bodyOf(`m${i}`), publishOptions(`m${i}`, persistent(i)))
        for (const name of ['a', 'b', 'c', 'd']) pub.sendToQueue(DQ2, bodyOf(name), publishOptions(name, true))
        pub.sendToQueue(DQ2, bodyOf('e'), publishOptions('e', false))
        await withTimeout(pub.waitForConfirms(), 5000, 'publisher confirms')
        assert.equal((await pub.checkQueue(DQ)).messageCount, 12)
        assert.equal((await pub.checkQueue(TQ)).messageCount, 12)
        assert.equal((await pub.checkQueue(DQ2)).messageCount, 5)

        // A consumer with prefetch 4 gets m0 m1 m2 m3, acks m0 and m2, then gets m4 m5: it holds m1 m3 m4 m5
        const consConn = await connect(broker.url)
        const cons = await openChannel(consConn)
        await cons.prefetch(4)
        const inbox = new Inbox()
        await cons.consume(DQ, inbox.onMessage, { noAck: false })
        const first = await inbox.waitFor(4)
        assert.deepEqual(
          first.map((m) => m.properties.messageId),
          ['m0', 'm1', 'm2', 'm3'],
        )
        cons.ack(first[0]!)
        cons.ack(first[2]!)
        const six = await inbox.waitFor(6)
        assert.deepEqual(
          six.map((m) => m.properties.messageId),
          ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'],
        )
        // basic.get on cs.durable2: hold a, reject b with requeue, ack c; d and e are never delivered
        const getter = await openChannel(consConn)
        const [a, b, c] = [await getter.get(DQ2), await getter.get(DQ2), await getter.get(DQ2)]
        assert.ok(a && b && c)
        assert.deepEqual(
          [a, b, c].map((m) => m.properties.messageId),
          ['a', 'b', 'c'],
        )
        getter.ack(c)
        getter.nack(b, false, true)
        // the transient queue: something delivered and unacked there too
        assert.ok(await getter.get(TQ))
        await roundTrip(cons) // the acks are processed
        await roundTrip(getter)
        assert.equal((await pub.checkQueue(DQ)).messageCount, 6, 'm6..m11 ready in cs.durable')
        assert.equal((await pub.checkQueue(DQ2)).messageCount, 3, 'b, d, e ready in cs.durable2')

        await shutDown(broker, [pubConn, consConn])

        // ---- second life: only persistent messages of durable queues, delivered ones flagged
        broker = await broker.restart()
        assert.equal(recoveredCount(broker), 6 + 3, 'messages recovered (m3 m5 m6 m8 m9 m11; a b d)')
        let conn = await connect(broker.url)
        let ch = await openChannel(conn)
        await ch.checkExchange(DX)
        await expectChannelError(ch, ch.checkExchange(TX), {
          code: 404,
          text: `NOT_FOUND - no exchange '${TX}' in vhost '/'`,
        })
        ch = await openChannel(conn)
        await expectChannelError(ch, ch.checkQueue(TQ), {
          code: 404,
          text: `NOT_FOUND - no queue '${TQ}' in vhost '/'`,
        })
        ch = await openChannel(conn)
        assert.equal((await ch.checkQueue(DQ)).messageCount, 6)
        assert.equal((await ch.checkQueue(DQ2)).messageCount, 3)

        // The queue contents, through a consumer with prefetch 3: m3 m5 m6 first
        await ch.prefetch(3)
        const inbox2 = new Inbox()
        await ch.consume(DQ, inbox2.onMessage, { noAck: false })
        const firstThree = await inbox2.waitFor(3)
        assert.deepEqual(firstThree.map(describeMessage), [
          { name: 'm3', redelivered: true, intact: true },
          { name: 'm5', redelivered: true, intact: true },
          { name: 'm6', redelivered: false, intact: true },
        ])
        ch.ack(firstThree[0]!) // m3 done; m8 comes; m5 m6 m8 held, m9 m11 never delivered in this life
        const four = await inbox2.waitFor(4)
        assert.deepEqual(describeMessage(four[3]!), { name: 'm8', redelivered: false, intact: true })
        await roundTrip(ch)
        // the durable binding routes; a new persistent message goes behind the recovered ones
        const pub2 = await openConfirmChannel(conn)
        pub2.publish(DX, 'k', bodyOf('m12'), publishOptions('m12', true))
        pub2.publish(DX, 'k', bodyOf('m13'), publishOptions('m13', false))
        await withTimeout(pub2.waitForConfirms(), 5000, 'publisher confirms')
        // cs.durable2 is left alone in this life: its flags must survive a second restart as they are
        const conn2 = await connect(broker.url)
        await shutDown(broker, [conn, conn2])

        // ---- third life
        broker = await broker.restart()
        assert.equal(recoveredCount(broker), 6 + 3, 'messages recovered (m5 m6 m8 m9 m11 m12; a b d)')
        conn = await connect(broker.url)
        ch = await openChannel(conn)
        const durable = await getAll(ch, DQ)
        assert.deepEqual(durable.map(describeMessage), [
          { name: 'm5', redelivered: true, intact: true },
          { name: 'm6', redelivered: true, intact: true },
          { name: 'm8', redelivered: true, intact: true },
          { name: 'm9', redelivered: false, intact: true },
          { name: 'm11', redelivered: false, intact: true },
          { name: 'm12', redelivered: false, intact: true },
        ])
        const durable2 = await getAll(ch, DQ2)
        assert.deepEqual(durable2.map(describeMessage), [
          { name: 'a', redelivered: true, intact: true },
          { name: 'b', redelivered: true, intact: true },
          { name: 'd', redelivered: false, intact: true },
        ])
        ch.ackAll()
        await roundTrip(ch)
        await shutDown(broker, [conn])

        // ---- fourth life: everything was acked
        broker = await broker.restart()
        assert.equal(recoveredCount(broker), 0)
        conn = await connect(broker.url)
        ch = await openChannel(conn)
        assert.equal((await ch.checkQueue(DQ)).messageCount, 0)
        assert.equal((await ch.checkQueue(DQ2)).messageCount, 0)
        await shutDown(broker, [conn])
      },
    )
  },
)
