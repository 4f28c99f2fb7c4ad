// RPC over a topic exchange: answer Fibonacci requests published to the durable exchange 'logs_rpc'
// with any routing key. Requests wait in the durable queue 'task_queue_rpc' while no server runs.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many requests (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
const exchange = 'logs_rpc'
const queue = 'task_queue_rpc'

function fib(n: number): number {
  let [a, b] = [0, 1]
  for (let i = 0; i < n; i++) [a, b] = [b, a + b]
  return a
}

const connection = await amqp.connect(url)
const channel = await connection.createChannel()
// Called from callbacks that nobody awaits, so it reports its own failure
const close = () => {
  channel
    .close()
    .then(() => connection.close())
    .catch((err: unknown) => console.error(err))
}
process.once('SIGINT', close)

await channel.assertExchange(exchange, 'topic', { durable: true })
await channel.assertQueue(queue, { durable: true })
// '#' matches every routing key
await channel.bindQueue(queue, exchange, '#')
await channel.prefetch(1)

let answered = 0
await channel.consume(
  queue,
  (msg) => {
    if (!msg) return // the broker cancelled the consumer
    const n = Number.parseInt(msg.content.toString(), 10)
    console.log(" [.] fib(%d) (routing key '%s')", n, msg.fields.routingKey)
    channel.sendToQueue(msg.properties.replyTo, Buffer.from(String(fib(n))), {
      correlationId: msg.properties.correlationId,
      persistent: true,
    })
    channel.ack(msg)
    if (++answered === exitAfter) close()
  },
  { noAck: false },
)
console.log(" [x] Awaiting RPC requests on exchange '%s'", exchange)
