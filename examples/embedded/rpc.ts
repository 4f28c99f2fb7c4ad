// An application module: a small RPC service over AMQP with amqplib. Servers take JSON requests from a
// durable queue, one at a time per prefetch slot, and answer through RabbitMQ's direct reply-to
// (amq.rabbitmq.reply-to); clients match answers to calls by correlation id. Nothing here knows about
// Warren: rpc.test.ts starts an embedded Warren and tests this module as any RabbitMQ client code would be.
import amqp, { type Channel, type ConsumeMessage } from 'amqplib'

export type Handler = (request: unknown) => unknown

export interface RpcServer {
  /** Stops taking requests; one being handled is not acknowledged, so another server gets it again */
  close(): Promise<void>
}

export interface RpcClient {
  /** Sends a request to the service's queue and resolves with its result, or rejects with its error */
  call(queue: string, request: unknown, timeoutMs?: number): Promise<unknown>
  close(): Promise<void>
}

interface Reply {
  ok: boolean
  result?: unknown
  error?: string
}

const REPLY_TO = 'amq.rabbitmq.reply-to'

/** Serves requests from `queue` (declared durable) with `handler`, `prefetch` at a time. */
export async function serveRpc(url: string, queue: string, handler: Handler, prefetch = 10): Promise<RpcServer> {
  const connection = await amqp.connect(url)
  const channel = await connection.createChannel()
  await channel.assertQueue(queue, { durable: true })
  await channel.prefetch(prefetch)
  const answer = async (message: ConsumeMessage) => {
    let reply: Reply
    try {
      reply = { ok: true, result: await handler(JSON.parse(message.content.toString())) }
    } catch (err) {
      reply = { ok: false, error: err instanceof Error ? err.message : String(err) }
    }
    const { replyTo, correlationId } = message.properties as { replyTo?: string; correlationId?: string }
    try {
      if (replyTo) {
        channel.sendToQueue(replyTo, Buffer.from(JSON.stringify(reply)), {
          correlationId,
          contentType: 'application/json',
        })
      }
      channel.ack(message)
    } catch {
      // The server was closed meanwhile: the broker has put the request back for another server
    }
  }
  await channel.consume(queue, (message) => {
    if (message) void answer(message)
  })
  return { close: () => connection.close() }
}

export async function rpcClient(url: string): Promise<RpcClient> {
  const connection = await amqp.connect(url)
  const channel: Channel = await connection.createChannel()
  const pending = new Map<string, { resolve(value: unknown): void; reject(err: Error): void; timer: NodeJS.Timeout }>()
  // Direct reply-to: no reply queue to declare, replies come straight to this channel's consumer
  await channel.consume(
    REPLY_TO,
    (message) => {
      if (!message) return
      const call = pending.get(String(message.properties.correlationId))
      if (!call) return // a reply after its call timed out
      pending.delete(String(message.properties.correlationId))
      clearTimeout(call.timer)
      const reply = JSON.parse(message.content.toString()) as Reply
      if (reply.ok) call.resolve(reply.result)
      else call.reject(new Error(reply.error))
    },
    { noAck: true },
  )
  let calls = 0
  return {
    call(queue, request, timeoutMs = 10_000) {
      const correlationId = String(++calls)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(correlationId)
          reject(new Error(`no reply from '${queue}' within ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(correlationId, { resolve, reject, timer })
        channel.sendToQueue(queue, Buffer.from(JSON.stringify(request)), {
          correlationId,
          replyTo: REPLY_TO,
          contentType: 'application/json',
          persistent: true,
        })
      })
    },
    async close() {
      for (const call of pending.values()) {
        clearTimeout(call.timer)
        call.reject(new Error('client closed'))
      }
      pending.clear()
      await connection.close()
    },
  }
}
