// Tutorial 2, "Work queues": take tasks from 'task_queue' one at a time and acknowledge each when done.
import amqp from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many tasks (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
// For tests: how long one dot of work takes
const secondsPerDot = Number(process.env.EXAMPLE_SECONDS_PER_DOT ?? 1)
const queue = 'task_queue'

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

await channel.assertQueue(queue, { durable: true })
// Fair dispatch: no new task until this worker has acknowledged the previous one
await channel.prefetch(1)

let done = 0
await channel.consume(
  queue,
  (msg) => {
    if (!msg) return // the broker cancelled the consumer
    const text = msg.content.toString()
    console.log(" [x] Received '%s'", text)
    const dots = text.split('.').length - 1
    setTimeout(
      () => {
        console.log(' [x] Done')
        channel.ack(msg)
        if (++done === exitAfter) close()
      },
      dots * secondsPerDot * 1000,
    )
  },
  { noAck: false },
)
console.log(' [*] Waiting for messages. To exit press CTRL+C')
