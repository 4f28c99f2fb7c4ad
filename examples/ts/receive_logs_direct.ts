// Tutorial 4, "Routing": print the log messages whose severity is one of those given.
// Usage: node receive_logs_direct.js [info] [warning] [error]
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many messages (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
const exchange = 'direct_logs'
const severities = process.argv.slice(2)
if (severities.length === 0) {
  console.error('Usage: receive_logs_direct [info] [warning] [error]')
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

await channel.assertExchange(exchange, 'direct', { durable: false })
const { queue } = await channel.assertQueue('', { exclusive: true })
// One binding per severity: the routing key must match exactly
for (const severity of severities) {
  await channel.bindQueue(queue, exchange, severity)
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
