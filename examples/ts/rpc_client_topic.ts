// RPC over a topic exchange: publish a Fibonacci request to the exchange 'logs_rpc' and wait for the answer.
// Usage: node rpc_client_topic.js [n] [routing_key]
import { randomUUID } from 'node:crypto'
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
const exchange = 'logs_rpc'
const n = Number.parseInt(process.argv[2] ?? '30', 10)
const routingKey = process.argv[3] ?? 'rpc.fib'
if (Number.isNaN(n)) {
  console.error('Usage: rpc_client_topic [n] [routing_key]')
  process.exit(1)
}

const connection = await amqp.connect(url)
const channel = await connection.createChannel()

// Declare the exchange as the server does, so the request has somewhere to go
await channel.assertExchange(exchange, 'topic', { durable: true })
const { queue: callbackQueue } = await channel.assertQueue('', { exclusive: true })
const correlationId = randomUUID()

const response = new Promise<string>((resolve) => {
  void channel.consume(
    callbackQueue,
    (msg) => {
      if (msg?.properties.correlationId === correlationId) resolve(msg.content.toString())
    },
    { noAck: true },
  )
})

console.log(" [x] Requesting fib(%d) with routing key '%s'", n, routingKey)
channel.publish(exchange, routingKey, Buffer.from(String(n)), { correlationId, replyTo: callbackQueue })
console.log(' [.] Got %s', await response)

await connection.close()
