// Direct reply-to (the direct_reply_to capability): the amq.rabbitmq.reply-to pseudo-queue used for RPC.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { Message } from 'amqplib'
import { startBroker, type TestBroker } from '../../helpers/broker.js'
import {
  Scope,
  TEST_TIMEOUT,
  consume,
  eventually,
  expectChannelError,
  openChannel,
  roundTrip,
} from '../../helpers/amqplib.js'

const REPLY_TO = 'amq.rabbitmq.reply-to'

describe('amqplib: direct reply-to', () => {
  let broker: TestBroker
  let scope: Scope

  before(async () => {
    broker = await startBroker()
    scope = new Scope(broker.url, 'reply-to')
  })
  after(async () => {
    await scope.cleanup()
    await broker.stop()
  })

  test('request / reply through amq.rabbitmq.reply-to', TEST_TIMEOUT, async () => {
    const conn = await scope.connect()
    const client = await openChannel(conn)
    const server = await openChannel(conn)
    const q = scope.queue('rpc')
    await server.assertQueue(q, { durable: false })
    const requests = await consume(server, q, { noAck: true })
    const replies = await consume(client, REPLY_TO, { noAck: true })
    client.sendToQueue(q, Buffer.from('ping'), { replyTo: REPLY_TO, correlationId: 'c-1' })
    const [request] = await requests.inbox.waitFor(1)
    // the broker rewrites reply-to into an address that routes back to this channel's consumer
    const address = String(request!.properties.replyTo)
    assert.ok(address.startsWith(`${REPLY_TO}.`), `rewritten reply-to: ${address}`)
    server.sendToQueue(address, Buffer.from('pong'), { correlationId: 'c-1' })
    const [reply] = await replies.inbox.waitFor(1)
    assert.equal(reply!.content.toString(), 'pong')
    assert.equal(reply!.properties.correlationId, 'c-1')
    assert.deepEqual(
      { ...reply!.fields },
      {
        consumerTag: replies.consumerTag,
        deliveryTag: 1,
        redelivered: false,
        exchange: '',
        routingKey: address,
      },
    )
    await conn.close()
  })

  test(
    'a reply address only routes through the default exchange, while its channel is open',
    TEST_TIMEOUT,
    async () => {
      const conn = await scope.connect()
      const client = await openChannel(conn)
      const server = await openChannel(conn)
      const q = scope.queue('rpc')
      await server.assertQueue(q, { durable: false })
      const requests = await consume(server, q, { noAck: true })
      const replies = await consume(client, REPLY_TO, { noAck: true })
      client.sendToQueue(q, Buffer.from('ping'), { replyTo: REPLY_TO })
      const [request] = await requests.inbox.waitFor(1)
      const address = String(request!.properties.replyTo)
      const returned: Message['fields'][] = []
      server.on('return', (m: Message) => returned.push(m.fields))
      server.publish('amq.direct', address, Buffer.from('via amq.direct'), { mandatory: true })
      await eventually(() => returned.length === 1, 'the return')
      await client.close()
      server.sendToQueue(address, Buffer.from('too late'), { mandatory: true })
      server.sendToQueue(`${REPLY_TO}.garbage`, Buffer.from('bad address'), { mandatory: true })
      await eventually(() => returned.length === 3, 'the returns')
      assert.deepEqual(
        returned.map((f) => ({ ...f })),
        [
          { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: address },
          { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: address },
          { replyCode: 312, replyText: 'NO_ROUTE', exchange: '', routingKey: `${REPLY_TO}.garbage` },
        ],
      )
      assert.equal(replies.inbox.messages.length, 0)
      await roundTrip(server)
      await conn.close()
    },
  )

  test('the reply consumer must be no-ack: 406', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    await expectChannelError(
      ch,
      ch.consume(REPLY_TO, () => {}, { noAck: false }),
      {
        code: 406,
        text: 'PRECONDITION_FAILED - reply consumer cannot acknowledge',
        classId: 60,
        methodId: 20,
      },
    )
    await conn.close()
  })

  test('publishing with reply-to amq.rabbitmq.reply-to without consuming from it: 406', TEST_TIMEOUT, async () => {
    const { conn, ch } = await scope.open()
    const q = scope.queue()
    await ch.assertQueue(q, { durable: false })
    await expectChannelError(ch, () => ch.sendToQueue(q, Buffer.from('x'), { replyTo: REPLY_TO }), {
      code: 406,
      text: 'PRECONDITION_FAILED - fast reply consumer does not exist',
      classId: 60,
      methodId: 40,
    })
    await conn.close()
  })
})
