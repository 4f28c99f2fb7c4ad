// How long the message store takes to recover at startup. Writes N messages across Q queues (optionally
// acking a share of them), closes the store, then times a fresh store listing and opening every queue.
//
//   node dist/bench/store-recovery.js [--messages 1000000] [--queues 100] [--size 100] [--ack-ratio 0]
//                                     [--dir PATH] [--keep] [--recover-only]
//
// The recovery runs on a warm page cache unless the caches are dropped between the two phases
// (run once with --keep, drop caches as root, then again with --dir PATH --recover-only).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { MessageStore } from '../src/store/message-store.js'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    queues: { type: 'string', default: '100' },
    size: { type: 'string', default: '100' },
    'ack-ratio': { type: 'string', default: '0' },
    dir: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'recover-only': { type: 'boolean', default: false },
  },
})
const messageCount = Number(values.messages)
const queueCount = Number(values.queues)
const bodySize = Number(values.size)
const ackRatio = Number(values['ack-ratio'])
const dataDir = values.dir ?? (await mkdtemp(join(tmpdir(), 'warren-store-bench-')))
const log = pino({ level: 'warn' })
const queueName = (q: number) => `bench-queue-${q}`
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

async function write(): Promise<void> {
  const store = new MessageStore(dataDir, log)
  const queues = []
  for (let q = 0; q < queueCount; q++) queues.push((await store.openQueue('/', queueName(q))).store)
  // Properties as a typical client sends them: delivery-mode 2 and a content type
  const propertiesRaw = Buffer.from('9000106170706c69636174696f6e2f6a736f6e02', 'hex')
  const body = Buffer.alloc(bodySize, 'x')
  const started = performance.now()
  let ackEvery = ackRatio > 0 ? Math.round(1 / ackRatio) : 0
  if (ackEvery === 1) ackEvery = 0
  for (let i = 0; i < messageCount; i++) {
    const queue = queues[i % queueCount]!
    const position = queue.append({
      exchange: 'amq.direct',
      routingKey: queueName(i % queueCount),
      propertiesRaw,
      body,
    })
    if (ackRatio >= 1 || (ackEvery > 0 && i % ackEvery === 0)) queue.ack(position)
    // Yield now and then, as a broker would, so group commits run while we write
    if (i % 10_000 === 9_999) await new Promise((resolve) => setImmediate(resolve))
  }
  await store.close()
  const seconds = (performance.now() - started) / 1000
  const rate = Math.round(messageCount / seconds)
  console.log(`wrote ${messageCount} messages of ${bodySize} B to ${queueCount} queues in ${seconds.toFixed(2)} s`)
  console.log(`  (${rate} msg/s, ${store.durableBatch} group commits)`)
}

async function recover(): Promise<void> {
  const heapBefore = process.memoryUsage().heapUsed
  const started = performance.now()
  const store = new MessageStore(dataDir, log)
  const found = await store.listQueues()
  const opened = await Promise.all(found.map(({ vhost, queue }) => store.openQueue(vhost, queue)))
  const seconds = (performance.now() - started) / 1000
  let recovered = 0
  let bytes = 0
  for (const { messages } of opened) {
    recovered += messages.length
    for (const { message } of messages) bytes += message.body.length
  }
  const rss = process.memoryUsage().rss
  console.log(`recovered ${recovered} messages (${mib(bytes)} MiB of bodies) from ${found.length} queues`)
  console.log(`  in ${seconds.toFixed(2)} s: ${Math.round(recovered / seconds)} msg/s`)
  console.log(`  heap +${mib(process.memoryUsage().heapUsed - heapBefore)} MiB, rss ${mib(rss)} MiB`)
  await store.close()
}

try {
  if (!values['recover-only']) await write()
  await recover()
} finally {
  if (!values.keep && values.dir === undefined) await rm(dataDir, { recursive: true, force: true })
  else console.log(`data kept in ${dataDir}`)
}
