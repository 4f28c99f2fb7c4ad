// Retry with delay: publish a job to the exchange 'work' for retry_worker.
// Usage: node retry_publish.js [job...]   (a job containing 'fail-twice' fails twice, 'always-fail' always)
import amqp, { type Channel } from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// How long a failed job waits in the retry queue. Both programs declare the queue, so they must agree.
const retryDelayMs = Number(process.env.RETRY_DELAY_MS ?? 5000)
const job = process.argv.slice(2).join(' ') || 'Hello World!'

// The same topology as retry_worker, declared idempotently by both programs:
//   exchange 'work' --job--> 'work_queue' --rejected--> exchange 'retry' --job--> 'work_retry_5s'
//   'work_retry_5s' --expired after the delay--> exchange 'work' (same routing key) --> 'work_queue' again
// and the parking queue 'work_failed' for jobs that failed too often.
async function declareTopology(channel: Channel): Promise<void> {
  await channel.assertExchange('work', 'direct', { durable: true })
  await channel.assertExchange('retry', 'direct', { durable: true })
  await channel.assertQueue('work_queue', { durable: true, deadLetterExchange: 'retry' })
  await channel.bindQueue('work_queue', 'work', 'job')
  await channel.assertQueue('work_retry_5s', { durable: true, messageTtl: retryDelayMs, deadLetterExchange: 'work' })
  await channel.bindQueue('work_retry_5s', 'retry', 'job')
  await channel.assertQueue('work_failed', { durable: true })
}

const connection = await amqp.connect(url)
const channel = await connection.createChannel()
await declareTopology(channel)

channel.publish('work', 'job', Buffer.from(job), { persistent: true })
console.log(" [x] Sent '%s'", job)

await channel.close()
await connection.close()
