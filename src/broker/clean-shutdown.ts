// Which recovered messages count as redelivered. After a clean shutdown the broker wrote down, per durable
// queue, the messages that had been delivered (their redelivered flag); the others come back as new.
// After a crash nothing was written, so every recovered message may have been delivered and is marked
// redelivered, which is what the flag promises: "this message may have been delivered before".
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CLEAN_SHUTDOWN_FILE as FILE } from '../store/recovery.js'
import type { Queue } from './queue/queue.js'

export async function recordCleanShutdown(queue: Queue): Promise<void> {
  const redelivered = queue.redeliveredPositions()
  await writeFile(join(queue.store!.dir, FILE), JSON.stringify({ redelivered }))
}

/** Reads and removes the clean-shutdown record of a queue's store directory. */
export async function redeliveredAfterRestart(dir: string): Promise<(position: number) => boolean> {
  const path = join(dir, FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return () => true
  }
  await rm(path, { force: true })
  try {
    const positions = new Set((JSON.parse(text) as { redelivered: number[] }).redelivered)
    return (position) => positions.has(position)
  } catch {
    return () => true
  }
}
