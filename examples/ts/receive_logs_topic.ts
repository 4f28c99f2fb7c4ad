// Tutorial 5, "Topics": print the log messages whose routing key matches one of the binding keys.
// In a binding key, '*' stands for exactly one word and '#' for zero or more words.
// Usage: node receive_logs_topic.js 'kern.*' '*.critical'
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many messages (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
const exchange = 'topic_logs'
const bindingKeys = process.argv.slice(2)
if (bindingKeys.length === 0) {
  console.error('Usage: receive_logs_topic [binding_key]...')
  process.exit(1)
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

await channel.assertExchange(exchange, 'topic', { durable: false })
const { queue } = await channel.assertQueue('', { exclusive: true })
for (const bindingKey of bindingKeys) {
  await channel.bindQueue(queue, exchange, bindingKey)
}

let received = 0
await channel.consume(
  queue,
  (msg) => {
    if (!msg) return // the broker cancelled the consumer
    console.log(" [x] '%s':'%s'", msg.fields.routingKey, msg.content.toString())
    if (++received === exitAfter) close()
  },
  { noAck: true },
)
console.log(' [*] Waiting for logs. To exit press CTRL+C')
