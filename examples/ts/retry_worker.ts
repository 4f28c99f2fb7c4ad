// Retry with delay, built from a per-queue TTL and dead-lettering: take jobs from 'work_queue'; a failed
// job is rejected without requeueing, waits in 'work_retry_5s' until its TTL expires, and comes back.
// The attempt number comes from the x-death header; after the last attempt the job is parked in
// 'work_failed'. For the demo, a job containing 'fail-twice' fails on its first two attempts and one
// containing 'always-fail' fails every time.
import amqp, { type Channel, type ConsumeMessage } from 'amqplib'

const url = process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/'
// For tests: stop after this many jobs are done or given up on (0, the default, runs until CTRL+C)
const exitAfter = Number(process.env.EXAMPLE_EXIT_AFTER ?? 0)
// How long a failed job waits in the retry queue. Both programs declare the queue, so they must agree.
const retryDelayMs = Number(process.env.RETRY_DELAY_MS ?? 5000)
// Attempts before a job is parked in 'work_failed'
const maxAttempts = Number(process.env.RETRY_MAX_ATTEMPTS ?? 3)

// The same topology as retry_publish, declared idempotently by both programs:
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

interface XDeath {
  queue?: unknown
  reason?: unknown
  count?: unknown
}

/** How many times this job has been rejected from 'work_queue', according to the broker's x-death header. */
function rejections(msg: ConsumeMessage): number {
  const deaths = msg.properties.headers?.['x-death'] as XDeath[] | undefined
  const death = deaths?.find((d) => d.queue === 'work_queue' && d.reason === 'rejected')
  return death ? Number(death.count) : 0
}

function succeeds(job: string, attempt: number): boolean {
  if (job.includes('always-fail')) return false
  if (job.includes('fail-twice')) return attempt > 2
  return true
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

await declareTopology(channel)
await channel.prefetch(1)

let finished = 0
await channel.consume(
  'work_queue',
  (msg) => {
    if (!msg) return // the broker cancelled the consumer
    const job = msg.content.toString()
    const count = rejections(msg)
    const attempt = count + 1
    console.log(" [x] Processing '%s' attempt %d%s", job, attempt, count ? ` (x-death count ${count})` : '')
    if (succeeds(job, attempt)) {
      console.log(" [x] Done '%s'", job)
      channel.ack(msg)
    } else if (attempt < maxAttempts) {
      console.log(' [!] Failed, retrying in %ss', retryDelayMs / 1000)
      // No requeue: the queue dead-letters the job to the exchange 'retry'
      channel.nack(msg, false, false)
      return
    } else {
      console.log(" [!] Giving up on '%s' after %d attempts", job, attempt)
      // Park it with its history (x-death) for someone to look at, then drop it from the work queue
      channel.sendToQueue('work_failed', msg.content, { persistent: true, headers: msg.properties.headers })
      channel.ack(msg)
    }
    if (++finished === exitAfter) close()
  },
  { noAck: false },
)
console.log(' [*] Waiting for jobs. To exit press CTRL+C')
