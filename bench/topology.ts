import { randomBytes } from 'node:crypto'
import type { Channel, ChannelModel } from 'amqplib'
import type { BenchOptions } from './options.js'

export interface Topology {
  queue: string
  routingKey: string
  /** false when the queue existed before the run or --keep-queue was given */
  deleteAtEnd: boolean
}

/** A channel whose server-side closure surfaces only as rejected calls. */
async function openChannel(model: ChannelModel): Promise<Channel> {
  const channel = await model.createChannel()
  // Without a listener amqplib would throw the 'error' event inside its frame handling
  channel.on('error', () => {})
  return channel
}

async function queueExists(model: ChannelModel, queue: string): Promise<boolean> {
  // A failed queue.declare passive closes the channel, so probe on a throwaway one
  const probe = await openChannel(model)
  try {
    await probe.checkQueue(queue)
    await probe.close()
    return true
  } catch {
    return false
  }
}

/** Declares the run's queue (and its binding when an exchange is named). */
export async function prepareTopology(model: ChannelModel, options: BenchOptions): Promise<Topology> {
  const queue = options.queue ?? `warren-bench-${randomBytes(4).toString('hex')}`
  const existed = options.queue !== null && (await queueExists(model, queue))
  const channel = await openChannel(model)
  await channel.assertQueue(queue, { durable: options.durableQueue, autoDelete: false, exclusive: false })
  const topology = { queue, routingKey: options.routingKey ?? queue, deleteAtEnd: !existed && !options.keepQueue }
  if (options.exchange !== '') {
    try {
      await channel.bindQueue(queue, options.exchange, topology.routingKey)
    } catch (error) {
      // e.g. no such exchange: do not leave the fresh queue behind
      if (!existed) await removeTopology(model, { ...topology, deleteAtEnd: true })
      throw error
    }
  }
  await channel.close()
  return topology
}

export async function removeTopology(model: ChannelModel, topology: Topology): Promise<void> {
  if (!topology.deleteAtEnd) return
  const channel = await openChannel(model)
  await channel.deleteQueue(topology.queue)
  await channel.close()
}
