// RPC with direct reply-to: ask the server on 'rpc_queue' for fib(n) without declaring a callback queue.
// The client consumes from the pseudo-queue 'amq.rabbitmq.reply-to' (no-ack) before it publishes, and sets
// reply_to to that name. The broker rewrites it into a name that routes back to this channel, so the
// tutorial 6 server answers unchanged.
// Usage: node rpc_client_direct_reply.js [n...]
import { randomUUID } from 'node:crypto'
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const REPLY_TO = 'amq.rabbitmq.reply-to'
const numbers = (process.argv.length > 2 ? process.argv.slice(2) : ['30']).map((arg) => Number.parseInt(arg, 10))
if (numbers.some(Number.isNaN)) {
  console.error('Usage: rpc_client_direct_reply [n...]')
  process.exit(1)
}

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

// Answers by correlation id; anything else (a late answer to an earlier request) is ignored
const pending = new Map<string, (answer: string) => void>()
// Consume first: the broker refuses a publish with this reply_to on a channel that is not consuming from it.
// Replies bypass any queue, so this consumer must be in no-ack mode.
await channel.consume(
  REPLY_TO,
  (msg) => {
    if (!msg) return // the broker cancelled the consumer
    pending.get(String(msg.properties.correlationId))?.(msg.content.toString())
  },
  { noAck: true },
)

for (const n of numbers) {
  const correlationId = randomUUID()
  const response = new Promise<string>((resolve) => pending.set(correlationId, resolve))
  console.log(' [x] Requesting fib(%d)', n)
  channel.sendToQueue('rpc_queue', Buffer.from(String(n)), { correlationId, replyTo: REPLY_TO })
  console.log(' [.] Got %s', await response)
  pending.delete(correlationId)
}

await connection.close()
