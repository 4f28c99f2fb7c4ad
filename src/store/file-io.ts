// The few file operations the store's write path uses, on raw file descriptors.
// Raw fds (rather than FileHandle) let the same descriptor serve async commits and synchronous reads,
// and the interface lets tests count writes and syncs, or make them fail.
import * as fs from 'node:fs'

export interface StoreFileSystem {
  /** Opens for appending (creating the file if missing) and reading. */
  openAppend(path: string): Promise<number>
  openReadSync(path: string): number
  /** Writes all of `buffers` at the end of the file. */
  appendAll(fd: number, buffers: Buffer[]): Promise<void>
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

/** Writes all of `buffers` at the file's current offset, continuing after short writes. */
export async function appendAllTo(fd: number, buffers: Buffer[]): Promise<void> {
  let remaining = buffers
  for (;;) {
    const written = await promised<number>((done) => fs.writev(fd, remaining, done))
    if (written === 0) throw new Error('write made no progress')
    let left = written
    let i = 0
    while (i < remaining.length && left >= remaining[i]!.length) left -= remaining[i++]!.length
    if (i === remaining.length) return
    // A short write (rare on regular files): continue with what was not written
    remaining = [remaining[i]!.subarray(left), ...remaining.slice(i + 1)]
  }
}

export const nodeFileSystem: StoreFileSystem = {
  openAppend: (path) => promised<number>((done) => fs.open(path, 'a+', 0o644, done)),
  openReadSync: (path) => fs.openSync(path, 'r'),
  appendAll: appendAllTo,
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
