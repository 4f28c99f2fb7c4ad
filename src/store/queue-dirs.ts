// Where durable queues live on disk: <data>/vhosts/<sha1(vhost)>/queues/<sha1(queue)>/, each directory with a
// name file that says which vhost and queue it holds. Every directory entry made is synced up to the data
// directory, so a power loss cannot lose a queue that was declared. Deleted queues' directories are renamed into
// <data>/trash/ at once (a queue of the same name may be declared again right away) and removed from there.
import { createHash, randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  promises as fsp,
  renameSync,
  writeFileSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { Logger } from '../util/logger.js'
import { errorCode, errorText } from './error-text.js'
import type { StoreFileSystem } from './file-io.js'
import { NAME_FILE } from './recovery.js'

export const TRASH_DIR = 'trash'

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex')
}

function syncPathSync(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** The directory of a queue's store. */
export function queueDirOf(dataDir: string, vhost: string, queue: string): string {
  return join(dataDir, 'vhosts', sha1(vhost), 'queues', sha1(queue))
}

/** Creates a new queue's directory and name file synchronously, syncing each new entry up to the data dir. */
export function createQueueDirSync(dir: string, vhost: string, queue: string): void {
  const firstCreated = mkdirSync(dir, { recursive: true })
  const nameFile = join(dir, NAME_FILE)
  writeFileSync(nameFile + '.tmp', JSON.stringify({ vhost, queue }) + '\n')
  syncPathSync(nameFile + '.tmp')
  renameSync(nameFile + '.tmp', nameFile)
  syncPathSync(dir)
  const top = firstCreated === undefined ? dir : dirname(firstCreated)
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    syncPathSync(parent)
    if (parent === top || parent === dirname(parent)) break
  }
}

/** Creates the queue's directory and name file (if missing), syncing each new directory entry up to the data dir. */
export async function createQueueDir(io: StoreFileSystem, dir: string, vhost: string, queue: string): Promise<void> {
  const firstCreated = await fsp.mkdir(dir, { recursive: true })
  const nameFile = join(dir, NAME_FILE)
  const content = JSON.stringify({ vhost, queue }) + '\n'
  const existing = await fsp.readFile(nameFile, 'utf8').catch(() => null)
  if (existing === content) return
  // Written aside then renamed, so the name file is never seen half written
  const temporary = nameFile + '.tmp'
  const handle = await fsp.open(temporary, 'w')
  try {
    await handle.writeFile(content)
    await handle.datasync()
  } finally {
    await handle.close()
  }
  await fsp.rename(temporary, nameFile)
  await io.syncDirectory(dir)
  if (firstCreated === undefined) return
  // Each directory mkdir created is an entry in its parent, which must be synced to survive a power loss
  const top = dirname(firstCreated)
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    await io.syncDirectory(parent)
    if (parent === top || parent === dirname(parent)) break
  }
}

async function listDir(dir: string, log: Logger): Promise<string[]> {
  try {
    return await fsp.readdir(dir)
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') log.warn({ dir, err: errorText(error) }, 'cannot list directory')
    return []
  }
}

/** The durable queue stores found on disk (vhost + name), for recovery; unreadable name files are skipped. */
export async function listQueueDirs(dataDir: string, log: Logger): Promise<{ vhost: string; queue: string }[]> {
  const found: { vhost: string; queue: string }[] = []
  const vhostsDir = join(dataDir, 'vhosts')
  for (const vhostHash of await listDir(vhostsDir, log)) {
    const queuesDir = join(vhostsDir, vhostHash, 'queues')
    for (const queueHash of await listDir(queuesDir, log)) {
      const nameFile = join(queuesDir, queueHash, NAME_FILE)
      try {
        const parsed: unknown = JSON.parse(await fsp.readFile(nameFile, 'utf8'))
        const { vhost, queue } = (parsed ?? {}) as Record<string, unknown>
        if (typeof vhost !== 'string' || typeof queue !== 'string') throw new Error('no vhost and queue names')
        if (sha1(vhost) !== vhostHash || sha1(queue) !== queueHash) throw new Error('names do not match the path')
        found.push({ vhost, queue })
      } catch (error) {
        log.warn({ file: nameFile, err: errorText(error) }, 'unreadable queue name file; queue skipped')
      }
    }
  }
  return found
}

/** Renames a directory into the trash; returns its new path, or null if it is not there or cannot move. */
export function moveToTrash(dataDir: string, dir: string, log: Logger): string | null {
  const unique = `${basename(dir)}.${Date.now().toString(36)}.${randomBytes(4).toString('hex')}`
  const trash = join(dataDir, TRASH_DIR, unique)
  try {
    mkdirSync(dirname(trash), { recursive: true })
    renameSync(dir, trash)
    return trash
  } catch (error) {
    if (errorCode(error) !== 'ENOENT' || existsSync(dir)) {
      log.error({ dir, err: errorText(error) }, 'cannot move the directory of a deleted queue aside')
    }
    return null
  }
}

/** Removes what deleted queues left in the trash (a crash or a failed removal); called at start. */
export async function removeTrash(dataDir: string, log: Logger): Promise<void> {
  const trash = join(dataDir, TRASH_DIR)
  try {
    await fsp.rm(trash, { recursive: true, force: true })
  } catch (error) {
    log.warn({ dir: trash, err: errorText(error) }, 'cannot remove the trash of deleted queues')
  }
}
