// Channels and consumers through the management API, field names as RabbitMQ 3.10.8 lists them (compared
// with curl while an amqplib client consumed), without the statistics Warren does not keep.
import type { Access } from './auth.js'
import { vhostOf, type ApiContext, type ApiHandler, type ManagedChannel, type ManagedConnection } from './context.js'
import { NODE, type Json } from './format.js'
import { notFoundError, ok } from './http.js'

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
    prefetch_count: ch.prefetchCount,
    global_prefetch_count: ch.globalPrefetch,
    confirm: ch.confirming,
    transactional: ch.inTx,
  }
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
  return ok(channelJson(...found))
}

export const listConsumers: ApiHandler = (ctx, access, req) => {
  const vhost = req.params['vhost']
  if (vhost !== undefined) vhostOf(ctx, vhost)
  const out: Json[] = []
  for (const [c, ch] of visibleChannels(ctx, access, (c) => vhost === undefined || c.vhost.name === vhost)) {
    for (const consumer of ch.consumerList) {
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
        active: true,
        activity_status: 'up',
      })
    }
  }
  return ok(out)
}
