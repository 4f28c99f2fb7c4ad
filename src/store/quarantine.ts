// Queue stores found on disk without a definition are kept aside, never deleted: the definition may have
// been lost to a damaged line of definitions.log, and the messages are confirmed ones. The directory is
// moved (one rename, within the data directory) to
//   <dataDir>/quarantine/<time>/vhosts/<sha1 of the vhost>/queues/<sha1 of the queue>
// which mirrors its place in the data directory, so an operator can inspect it or put it back.
import { promises as fsp } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import type { Logger } from '../util/logger.js'
import { nodeFileSystem } from './file-io.js'
import { countMessages } from './recovery.js'

export const QUARANTINE_DIR = 'quarantine'

/** Moves a queue's directory into the quarantine; returns where it went and how many messages it holds. */
export async function quarantineQueueDir(
  dataDir: string,
  queueDir: string,
  log: Logger,
): Promise<{ movedTo: string; messages: number }> {
  // One directory per start (a time with milliseconds: distinct across restarts)
  const stamp = new Date().toISOString().replace(/[:.]/g, '-')
  const movedTo = join(dataDir, QUARANTINE_DIR, stamp, relative(dataDir, queueDir))
  await fsp.mkdir(dirname(movedTo), { recursive: true })
  await fsp.rename(queueDir, movedTo)
  // Make the move durable (the old entry's removal, the new entry and every directory mkdir created), so
  // that a power loss cannot undo half of it
  const synced = [dirname(queueDir)]
  for (let dir = dirname(movedTo); dir !== dirname(dataDir); dir = dirname(dir)) synced.push(dir)
  for (const dir of synced) await nodeFileSystem.syncDirectory(dir).catch(() => undefined)
  return { movedTo, messages: await countMessages(movedTo, log) }
}
