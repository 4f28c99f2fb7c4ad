// Tutorial 1, "Hello World!": print the messages that arrive on the queue 'hello'.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many messages (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
const queue = 'hello'

const connection = await amqp.connect(url)
const channel = await connection.createChannel()
const close = async () => {
  await channel.close()
  await connection.close()
}
process.once('SIGINT', close)

await channel.assertQueue(queue, { durable: false })

let received = 0
await channel.consume(
  queue,
  async (msg) => {
    if (!msg) return // the broker cancelled the consumer
    console.log(" [x] Received '%s'", msg.content.toString())
    if (++received === exitAfter) await close()
  },
  { noAck: true },
)
console.log(' [*] Waiting for messages. To exit press CTRL+C')
