// Tutorial 3, "Publish/Subscribe": print every message broadcast on the fanout exchange 'logs'.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many messages (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
const exchange = 'logs'

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

await channel.assertExchange(exchange, 'fanout', { durable: false })
// A fresh queue with a server-generated name, deleted when this connection closes
const { queue } = await channel.assertQueue('', { exclusive: true })
await channel.bindQueue(queue, exchange, '')

let received = 0
await channel.consume(
  queue,
  (msg) => {
    if (!msg) return // the broker cancelled the consumer
    console.log(" [x] '%s'", msg.content.toString())
    if (++received === exitAfter) close()
  },
  { noAck: true },
)
console.log(' [*] Waiting for logs. To exit press CTRL+C')
