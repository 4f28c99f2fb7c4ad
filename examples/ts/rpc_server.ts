// Tutorial 6, "RPC": answer Fibonacci requests from the queue 'rpc_queue'.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many requests (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
const queue = 'rpc_queue'

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2)
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

await channel.assertQueue(queue, { durable: false })
// Spread the load over several servers: one request at a time each
await channel.prefetch(1)

let answered = 0
await channel.consume(queue, (msg) => {
  if (!msg) return // the broker cancelled the consumer
  const n = Number.parseInt(msg.content.toString(), 10)
  console.log(' [.] fib(%d)', n)
  // Reply through the default exchange to the client's callback queue, echoing its correlation id
  channel.sendToQueue(msg.properties.replyTo, Buffer.from(String(fib(n))), {
    correlationId: msg.properties.correlationId,
  })
  channel.ack(msg)
  if (++answered === exitAfter) close()
})
console.log(' [x] Awaiting RPC requests')
