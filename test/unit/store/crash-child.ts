// Child process of the kill -9 test: appends messages to several queues as fast as group commit allows
// and prints, after each durable batch, the highest message index it confirms. Does nothing unless the
// test starts it (node --test also loads every file of a test directory).
import { pino } from 'pino'
import { MessageStore } from '../../../src/store/message-store.js'
import { message } from './store-helpers.js'

const dataDir = process.env.WARREN_STORE_CRASH_CHILD
if (dataDir !== undefined) {
  const store = new MessageStore(dataDir, pino({ level: 'silent' }), { segmentSize: 64 * 1024 })
  const queues = await Promise.all([0, 1, 2, 3].map(async (q) => (await store.openQueue('/', `q${q}`)).store))
  const lastIndexOfBatch = new Map<number, number>()
  store.onDurable((batch) => {
    const last = lastIndexOfBatch.get(batch)
    lastIndexOfBatch.delete(batch)
    if (last !== undefined) process.stdout.write(`${last}\n`)
  })
  const positions: number[] = []
  let index = 0
  const publish = (): void => {
    for (let i = 0; i < 50; i++, index++) {
      const queue = queues[index % queues.length]!
      positions.push(queue.append(message(index, 50 + (index % 200))))
      // Queues q0 and q1 are consumed 200 messages behind, so their segments complete and are deleted
      // as we run; q2 and q3 keep everything
      const acked = index - 200
      if (acked >= 0 && acked % 4 < 2) queues[acked % queues.length]!.ack(positions[acked]!)
      lastIndexOfBatch.set(store.currentBatch, index)
    }
    setImmediate(publish)
  }
  publish()
}
