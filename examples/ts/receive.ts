// Tutorial 1, "Hello World!": print the messages that arrive on the queue 'hello'.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many messages (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
const queue = 'hello'

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

let received = 0
await channel.consume(
  queue,
  (msg) => {
    if (!msg) return // the broker cancelled the consumer
    console.log(" [x] Received '%s'", msg.content.toString())
    if (++received === exitAfter) close()
  },
  { noAck: true },
)
console.log(' [*] Waiting for messages. To exit press CTRL+C')
