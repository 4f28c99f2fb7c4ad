// Channels and consumers through the management API, field names as RabbitMQ 3.10.8 lists them (compared
// with curl while an amqplib client consumed), without the statistics Warren does not keep.
import type { Access } from './auth.js'
import {
  vhostOf,
  type ApiContext,
  type ApiHandler,
  type ManagedChannel,
  type ManagedConnection,
  type ManagedConsumer,
} from './context.js'
import { NODE, type Json } from './format.js'
import { notFoundError, ok } from './http.js'
import { channelMessageStats } from '../../broker/stats.js'
import { withRates } from './rates.js'
import { idleSince } from './statistics.js'

/** RabbitMQ names a channel after its connection and number: "<connection> (1)" */
const channelName = (c: ManagedConnection, ch: ManagedChannel): string => `${c.name} (${ch.id})`

function channelJson(c: ManagedConnection, ch: ManagedChannel): Json {
  return {
    name: channelName(c, ch),
    number: ch.id,
    node: NODE,
    vhost: c.vhost.name,
    user: c.user.name,
    state: 'running',
    connection_details: { name: c.name, peer_host: c.info.remoteAddress, peer_port: c.info.remotePort },
    consumer_count: [...ch.consumerList].length,
    messages_unacknowledged: ch.unackedCount,
    messages_unconfirmed: ch.publisher.unconfirmed,
    messages_uncommitted: ch.publisher.uncommitted,
    acks_uncommitted: ch.uncommittedAcks,
    prefetch_count: ch.prefetchCount,
    global_prefetch_count: ch.globalPrefetch,
    confirm: ch.confirming,
    transactional: ch.inTx,
    user_who_performed_action: c.user.name,
    ...idleSince(ch.stats, ch.stats.confirm),
    ...channelStats(ch),
  }
}

/** RabbitMQ's message_stats of a channel, with rates; none before it published or delivered anything */
function channelStats(ch: ManagedChannel): { message_stats?: Json } {
  const counts = channelMessageStats(ch.stats)
  return counts ? { message_stats: withRates(ch.stats, counts) } : {}
}

function visibleChannels(
  ctx: ApiContext,
  access: Access,
  filter: (c: ManagedConnection) => boolean = () => true,
): [ManagedConnection, ManagedChannel][] {
  const out: [ManagedConnection, ManagedChannel][] = []
  for (const c of ctx.connections()) {
    if (!access.seesConnectionOf(c.user.name) || !filter(c)) continue
    for (const ch of c.channelList) out.push([c, ch])
  }
  return out
}

export const listChannels: ApiHandler = (ctx, access, req) => {
  const vhost = req.params['vhost']
  if (vhost !== undefined) vhostOf(ctx, vhost)
  const connection = req.params['connection']
  const channels = visibleChannels(
    ctx,
    access,
    (c) => (vhost === undefined || c.vhost.name === vhost) && (connection === undefined || c.name === connection),
  )
  if (connection !== undefined && ![...ctx.connections()].some((c) => c.name === connection)) throw notFoundError()
  return ok(channels.map(([c, ch]) => channelJson(c, ch)))
}

export const getChannel: ApiHandler = (ctx, access, req) => {
  const name = req.params['name']!
  const found = visibleChannels(ctx, access).find(([c, ch]) => channelName(c, ch) === name)
  if (!found) throw notFoundError()
  const [connection, channel] = found
  const consumers = new Set(channel.consumerList)
  // One channel comes with its consumers, and the detailed rates' lists (empty: rates_mode basic)
  return ok({
    ...(channelJson(connection, channel) as object),
    consumer_details: consumersJson(ctx, access, connection.vhost.name, (c) => consumers.has(c)),
    deliveries: [],
    publishes: [],
  })
}

/** RabbitMQ's activity of a consumer: 'up', or on a single-active-consumer queue 'single_active' / 'waiting' */
function activity(consumer: ManagedConsumer): { active: boolean; activity_status: string } {
  if (!consumer.queue.settings.singleActiveConsumer) return { active: true, activity_status: 'up' }
  const active = consumer.queue.activeConsumer === consumer
  return { active, activity_status: active ? 'single_active' : 'waiting' }
}

/** The consumers of the vhost (all visible ones if undefined), as /api/consumers lists them */
export function consumersJson(
  ctx: ApiContext,
  access: Access,
  vhost: string | undefined,
  only: (consumer: ManagedConsumer) => boolean = () => true,
): Json[] {
  const out: Json[] = []
  for (const [c, ch] of visibleChannels(ctx, access, (c) => vhost === undefined || c.vhost.name === vhost)) {
    for (const consumer of ch.consumerList) {
      if (!only(consumer)) continue
      out.push({
        consumer_tag: consumer.tag,
        queue: { name: consumer.queue.name, vhost: consumer.queue.vhost },
        channel_details: {
          connection_name: c.name,
          name: channelName(c, ch),
          node: NODE,
          number: ch.id,
          peer_host: c.info.remoteAddress,
          peer_port: c.info.remotePort,
          user: c.user.name,
        },
        ack_required: !consumer.noAck,
        exclusive: consumer.exclusive,
        prefetch_count: consumer.prefetch,
        // Warren keeps only x-priority of a consumer's arguments
        arguments: consumer.priority === 0 ? {} : { 'x-priority': consumer.priority },
        ...activity(consumer),
      })
    }
  }
  return out
}

export const listConsumers: ApiHandler = (ctx, access, req) => {
  const vhost = req.params['vhost']
  if (vhost !== undefined) vhostOf(ctx, vhost)
  return ok(consumersJson(ctx, access, vhost))
}
