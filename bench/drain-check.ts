// Fills a queue with N numbered transient messages, or drains it checking that every message arrives exactly
// once and in order (the check behind docs/benchmarks.md's paging figures: a queue paged out to disk and read
// back must give back what it took). ampperf's backlog mode purges instead of draining, so it cannot tell.
//
//   node dist/bench/drain-check.js fill  amqp://guest:guest@127.0.0.1:5672 QUEUE N [SIZE]
//   node dist/bench/drain-check.js drain amqp://guest:guest@127.0.0.1:5672 QUEUE N [SIZE]
//
// Body: the sequence number (u64) and then SIZE-8 bytes of (sequence mod 251). Prints one JSON line.
import { connect } from 'amqplib'

const [mode, url, queue, countText, sizeText = '100'] = process.argv.slice(2)
if ((mode !== 'fill' && mode !== 'drain') || !url || !queue || !countText) {
  process.stderr.write('usage: drain-check.js fill|drain URL QUEUE N [SIZE]\n')
  process.exit(64)
}
const count = Number(countText)
const size = Number(sizeText)
const started = process.hrtime.bigint()
const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9

const connection = await connect(url, { noDelay: true })
if (mode === 'fill') {
  const channel = await connection.createConfirmChannel()
  await channel.assertQueue(queue, { durable: false })
  for (let i = 0; i < count; i++) {
    const body = Buffer.alloc(size, i % 251)
    body.writeBigUInt64BE(BigInt(i), 0)
    channel.publish('', queue, body)
    if (i % 5000 === 4999) await channel.waitForConfirms()
  }
  await channel.waitForConfirms()
  const depth = (await channel.checkQueue(queue)).messageCount
  console.log(JSON.stringify({ mode, count, seconds: seconds(), depth }))
} else {
  const channel = await connection.createChannel()
  await channel.prefetch(2000)
  let next = 0
  let wrong = 0
  let stalled = false
  await new Promise<void>((resolve, reject) => {
    // A lost message would leave us waiting for the last one: 10 s with nothing arriving ends the drain
    let lastArrival = Date.now()
    const done = (): void => {
      clearInterval(watch)
      resolve()
    }
    const watch = setInterval(() => {
      if (Date.now() - lastArrival < 10_000) return
      stalled = true
      done()
    }, 1000)
    void channel.consume(queue, (m) => {
      if (!m) return reject(new Error('consumer cancelled by the broker'))
      lastArrival = Date.now()
      const seq = Number(m.content.readBigUInt64BE(0))
      if (seq !== next || m.content.length !== size || m.content[size - 1] !== seq % 251) {
        if (wrong++ < 5) console.error('unexpected', { seq, expected: next, length: m.content.length })
      }
      next = seq + 1
      if (next % 100 === 0 || next === count) channel.ack(m, true)
      if (next === count) done()
    })
  })
  const depth = (await channel.checkQueue(queue)).messageCount
  const inOrderExactlyOnce = !stalled && wrong === 0 && next === count && depth === 0
  console.log(
    JSON.stringify({
      mode,
      count,
      seconds: seconds(),
      rate: Math.round(count / seconds()),
      wrong,
      stalled,
      depth,
      inOrderExactlyOnce,
    }),
  )
  if (!inOrderExactlyOnce) process.exitCode = 1
}
await connection.close()
