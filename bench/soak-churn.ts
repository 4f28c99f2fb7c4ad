/**
 * The soak's churners: connections, channels and queues opened and closed all the time, some connections
 * closed with unacked messages or dropped without connection.close, exclusive and auto-delete queues, and
 * the churn queue deleted and declared again at once.
 */
import type { Channel, ChannelModel, Message } from 'amqplib'
import { sleep } from './clock.js'
import { idOfMessageId } from './soak-ledger.js'
import {
  ack,
  between,
  BODIES,
  closeQuietly,
  dropSocket,
  openConnection,
  pick,
  random,
  watchChannel,
  type SoakState,
} from './soak-traffic.js'

let autoDeleteCount = 0

/** A short-lived consumer that acks about half of what it gets, then leaves (sometimes without a word). */
async function consumeAndLeave(soak: SoakState): Promise<void> {
  const { ledger, topology: t } = soak
  const model = await openConnection(soak, 'churn consumer')
  let dropped = false
  try {
    const channel = watchChannel(soak, await model.createChannel(), 'churn consumer')
    await channel.prefetch(between(1, 50))
    let unacked = 0
    await channel.consume(pick([...t.durable, ...t.transient]), (message) => {
      if (message === null) return
      const id = idOfMessageId(message.properties.messageId)
      ledger.delivered(id, message.fields.redelivered)
      if (random() < 0.5) {
        ack(soak, channel, message)
      } else {
        unacked++
      }
    })
    await sleep(between(50, 500))
    if (unacked > 0) soak.tally.event('churn connection closed with unacked messages')
    if (random() < 0.2) {
      soak.tally.event('churn connection dropped without connection.close')
      dropped = true
      dropSocket(model)
    }
  } finally {
    if (!dropped) await closeQuietly(model)
  }
}

/** An exclusive server-named queue and an auto-delete queue, bound to the fanout, gone when it leaves. */
async function temporaryQueues(soak: SoakState): Promise<void> {
  const { ledger, topology: t } = soak
  const model = await openConnection(soak, 'churn temporary queues')
  try {
    const channel = watchChannel(soak, await model.createChannel(), 'churn temporary queues')
    const exclusive = await channel.assertQueue('', { exclusive: true, durable: false })
    const autoDelete = `${t.prefix}.auto-${autoDeleteCount++}`
    await channel.assertQueue(autoDelete, { autoDelete: true, durable: false })
    soak.queuesDeclared += 2
    await channel.bindQueue(exclusive.queue, t.fanout, '')
    await channel.bindQueue(autoDelete, t.fanout, '')
    const onMessage = (message: Message | null): void => {
      if (message === null) return
      const id = idOfMessageId(message.properties.messageId)
      ledger.delivered(id, message.fields.redelivered)
      if (random() < 0.7) {
        ack(soak, channel, message)
      }
    }
    await channel.consume(exclusive.queue, onMessage)
    const { consumerTag } = await channel.consume(autoDelete, onMessage)
    await sleep(between(100, 1000))
    // The last consumer going deletes the auto-delete queue; closing the connection, the exclusive one
    await channel.cancel(consumerTag)
    soak.queuesDeleted += 2
  } finally {
    await closeQuietly(model)
  }
}

/** Takes a few messages from the churn queue, deletes it (dropping the rest) and declares it again at once. */
async function deleteAndRedeclare(soak: SoakState, channel: Channel): Promise<void> {
  const { ledger, topology: t } = soak
  for (let i = between(0, 20); i > 0; i--) {
    const message = await channel.get(t.churn, { noAck: false })
    if (message === false) break
    const id = idOfMessageId(message.properties.messageId)
    ledger.delivered(id, message.fields.redelivered)
    ack(soak, channel, message)
  }
  ledger.bumpChurnEpoch()
  const deleted = await channel.deleteQueue(t.churn)
  soak.tally.event('churn queue: messages dropped by queue.delete', deleted.messageCount)
  soak.queuesDeleted++
  await channel.assertQueue(t.churn, { durable: true })
  ledger.bumpChurnEpoch()
  soak.queuesDeclared++
}

/** Channels opened and closed on one connection, each declaring and deleting a queue of its own. */
async function channelChurn(soak: SoakState, model: ChannelModel): Promise<void> {
  for (let i = between(1, 5); i > 0; i--) {
    const channel = watchChannel(soak, await model.createChannel(), 'churn channels')
    const name = `${soak.topology.prefix}.scratch-${between(0, 1e9)}`
    await channel.assertQueue(name, { durable: random() < 0.5, arguments: { 'x-expires': 60_000 } })
    soak.queuesDeclared++
    await channel.checkQueue(soak.topology.durable[0]!)
    channel.sendToQueue(name, BODIES.subarray(0, 100), { persistent: true })
    await channel.deleteQueue(name)
    soak.queuesDeleted++
    await channel.close()
  }
}

/**
 * Opens and closes connections, channels and queues, one action at a time. The churn queue is deleted
 * and declared again on a connection of its own, kept open, so that the redeclaration is never skipped.
 */
export async function runChurner(soak: SoakState, index: number): Promise<void> {
  const label = `churner ${index}`
  let home: ChannelModel | null = null
  let homeChannel: Channel | null = null
  while (!soak.stopping) {
    try {
      if (home === null || homeChannel === null) {
        await closeQuietly(home)
        home = await openConnection(soak, label)
        homeChannel = watchChannel(soak, await home.createChannel(), label)
        const lost = home
        homeChannel.on('close', () => {
          if (home === lost) homeChannel = null
        })
      }
      const r = random()
      if (r < 0.35) await consumeAndLeave(soak)
      else if (r < 0.6) await temporaryQueues(soak)
      else if (r < 0.75) {
        if (!soak.skip.has('churn')) await deleteAndRedeclare(soak, homeChannel)
      } else if (r < 0.95) await channelChurn(soak, home)
      else await closeQuietly(await openConnection(soak, label))
      await sleep(between(20, 200))
    } catch (err) {
      soak.tally.error(label, err)
      homeChannel = null
      await sleep(500)
    }
  }
  // Leave the churn queue in place for the drain, whatever happened above
  try {
    if (home === null || homeChannel === null) {
      await closeQuietly(home)
      home = await openConnection(soak, label)
      homeChannel = await home.createChannel()
    }
    await homeChannel.assertQueue(soak.topology.churn, { durable: true })
  } catch (err) {
    soak.tally.error(label, err)
  } finally {
    await closeQuietly(home)
  }
}
