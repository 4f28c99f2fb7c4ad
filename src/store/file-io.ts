// The few file operations the store's write path uses, on raw file descriptors.
// Raw fds (rather than FileHandle) let the same descriptor serve async commits and synchronous reads,
// and the interface lets tests count writes and syncs, or make them fail.
import * as fs from 'node:fs'

export interface StoreFileSystem {
  /**
   * Opens for writing and reading, creating the file if missing. Not O_APPEND: appends are written at the end
   * of the file's data, which zeros written ahead may follow (see append-file.ts).
   */
  openAppend(path: string): Promise<number>
  openReadSync(path: string): number
  /** Writes all of `buffers` at `position`: the end of the file's data. */
  appendAll(fd: number, buffers: Buffer[], position: number): Promise<void>
  datasync(fd: number): Promise<void>
  /** Cuts the file back to `length` bytes (to drop bytes whose write or sync failed). */
  truncate(fd: number, length: number): Promise<void>
  /** Makes a directory's entries (files created or removed in it) durable. */
  syncDirectory(path: string): Promise<void>
  read(fd: number, target: Buffer, position: number): Promise<number>
  readSync(fd: number, target: Buffer, position: number): number
  close(fd: number): Promise<void>
}

function promised<T>(run: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value)))
  })
}

/**
 * Batches up to this many bytes are written with a synchronous writev: a write into the page cache of a few
 * KiB takes microseconds, while a round trip through libuv's thread pool costs the main thread a wake-up of a
 * worker and a completion callback, and costs every confirm waiting for the batch a turn of the event loop
 * (about 130 µs of the commit's latency under scenario d). Larger batches still go through the pool so that
 * a copy of megabytes does not stall the event loop.
 */
const SYNC_WRITE_UP_TO = 256 * 1024

/** What is left of `remaining` after `written` bytes of it, or null when all of it is written. */
function unwritten(remaining: Buffer[], written: number): Buffer[] | null {
  if (written === 0) throw new Error('write made no progress')
  let left = written
  let i = 0
  while (i < remaining.length && left >= remaining[i]!.length) left -= remaining[i++]!.length
  if (i === remaining.length) return null
  // A short write (rare on regular files): continue with what was not written
  return [remaining[i]!.subarray(left), ...remaining.slice(i + 1)]
}

/** Writes all of `buffers` at `position`, continuing after short writes. */
export async function writeAllAt(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let bytes = 0
  for (let i = 0; i < buffers.length; i++) bytes += buffers[i]!.length
  let remaining: Buffer[] | null = buffers
  let at = position
  if (bytes <= SYNC_WRITE_UP_TO) {
    while (remaining !== null) {
      const written = fs.writevSync(fd, remaining, at)
      at += written
      remaining = unwritten(remaining, written)
    }
    return
  }
  while (remaining !== null) {
    const chunks: Buffer[] = remaining
    const written = await promised<number>((done) => fs.writev(fd, chunks, at, done))
    at += written
    remaining = unwritten(chunks, written)
  }
}

export const nodeFileSystem: StoreFileSystem = {
  openAppend: (path) =>
    promised<number>((done) => fs.open(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644, done)),
  openReadSync: (path) => fs.openSync(path, 'r'),
  appendAll: writeAllAt,
  datasync: (fd) => promised<void>((done) => fs.fdatasync(fd, (error) => done(error, undefined))),
  truncate: (fd, length) => promised<void>((done) => fs.ftruncate(fd, length, (error) => done(error, undefined))),
  async syncDirectory(path) {
    const fd = await promised<number>((done) => fs.open(path, 'r', done))
    try {
      await promised<void>((done) => fs.fsync(fd, (error) => done(error, undefined)))
    } finally {
      await promised<void>((done) => fs.close(fd, (error) => done(error, undefined)))
    }
  },
  read: (fd, target, position) =>
    promised<number>((done) => fs.read(fd, target, 0, target.length, position, (error, bytes) => done(error, bytes))),
  readSync: (fd, target, position) => fs.readSync(fd, target, 0, target.length, position),
  close: (fd) => promised<void>((done) => fs.close(fd, (error) => done(error, undefined))),
}
