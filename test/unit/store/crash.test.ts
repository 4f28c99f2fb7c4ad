// kill -9 at a random moment: every message the store reported durable comes back after recovery, in
// order, and recovery starts cleanly whatever state the files were left in.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { MessageStore } from '../../../src/store/message-store.js'
import { capturingLogger, filesIn, message, plain, withTempDir } from './store-helpers.js'

const child = fileURLToPath(new URL('./crash-child.js', import.meta.url))

/** Runs the child until it has confirmed at least `confirmations` batches, then kills it with SIGKILL. */
function runAndKill(dataDir: string, confirmations: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, [child], {
      env: { ...process.env, WARREN_STORE_CRASH_CHILD: dataDir },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let confirmed = -1
    let seen = 0
    let pending = ''
    process_.stdout.setEncoding('utf8')
    process_.stdout.on('data', (text: string) => {
      pending += text
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        confirmed = Math.max(confirmed, Number(line))
        seen++
      }
      if (seen >= confirmations) process_.kill('SIGKILL')
    })
    process_.on('error', reject)
    process_.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited without being killed (${signal})`))
      else resolve(confirmed)
    })
  })
}

for (const confirmations of [5, 40, 150]) {
  test(`kill -9 after ${confirmations} durable batches loses no confirmed message`, async () => {
    await withTempDir(async (dataDir) => {
      const confirmed = await runAndKill(dataDir, confirmations)
      assert.ok(confirmed > 0)
      const logger = capturingLogger()
      const store = new MessageStore(dataDir, logger.log)
      const queues = await store.listQueues()
      assert.equal(queues.length, 4)
      const found = new Set<number>()
      let firstQueueDir = ''
      for (let q = 0; q < 4; q++) {
        const { store: queue, messages } = await store.openQueue('/', `q${q}`)
        if (q === 0) firstQueueDir = queue.dir
        let previous = -1
        for (const { message: stored } of messages) {
          const index = Number(/^key\.(\d+)$/.exec(stored.routingKey)![1])
          assert.equal(index % 4, q, 'each message in its own queue')
          assert.ok(index > previous, 'messages in publish order')
          previous = index
          assert.deepEqual(plain(stored), plain(message(index, 50 + (index % 200))))
          found.add(index)
        }
      }
      for (let index = 0; index <= confirmed; index++) {
        // Messages of q0 and q1 may have been acked before the kill; those of q2 and q3 never are
        if (index % 4 >= 2) assert.ok(found.has(index), `confirmed message ${index} was lost`)
      }
      // The consumed queues' first segments were fully acked and deleted while the child ran
      if (confirmations >= 150) assert.ok(!(await filesIn(firstQueueDir)).includes('msgs.0000000001'))
      await store.close()
      assert.deepEqual(
        logger.lines.filter((line) => line.level >= 50),
        [],
      )
    })
  })
}
