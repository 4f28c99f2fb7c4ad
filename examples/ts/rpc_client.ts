// Tutorial 6, "RPC": ask the server on 'rpc_queue' for fib(n) and wait for the answer.
// Usage: node rpc_client.js [n]
import { randomUUID } from 'node:crypto'
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const n = Number.parseInt(process.argv[2] ?? '30', 10)
if (Number.isNaN(n)) {
  console.error('Usage: rpc_client [n]')
  process.exit(1)
}

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

// The server sends its answer to this exclusive queue, named by the broker
const { queue: callbackQueue } = await channel.assertQueue('', { exclusive: true })
const correlationId = randomUUID()

const response = new Promise<string>((resolve) => {
  void channel.consume(
    callbackQueue,
    (msg) => {
      // Ignore anything that is not the answer to our request
      if (msg?.properties.correlationId === correlationId) resolve(msg.content.toString())
    },
    { noAck: true },
  )
})

console.log(' [x] Requesting fib(%d)', n)
channel.sendToQueue('rpc_queue', Buffer.from(String(n)), { correlationId, replyTo: callbackQueue })
console.log(' [.] Got %s', await response)

await connection.close()
