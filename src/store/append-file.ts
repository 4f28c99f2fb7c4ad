// One append-only file (a segment or its acks file) and the bytes buffered for it until the next commit.
//
// Small writes are copied into a block of memory that grows with the traffic (4 KiB up to 1 MiB), so a
// batch of many records is a few large buffers for one writev. Bytes already handed to a commit are never
// overwritten: the block keeps filling after them, and a new block is taken when it is full. Large bodies
// are queued by reference instead of copied (the broker never mutates a body once received).
//
// A write or sync that fails keeps its bytes here: the next commit cuts the file back to the length last
// synced and writes them again from memory (see docs/storage.md, "When a write or sync fails").
import type { StoreFileSystem } from './file-io.js'

const MIN_BLOCK = 4 * 1024
const MAX_BLOCK = 1024 * 1024

/**
 * Zeros are written ahead of the data (preallocated), so that most fdatasyncs find the file's size and
 * blocks unchanged and need no journal commit of the file system's metadata, only the data pages: on ext4
 * a write + fdatasync that overwrites zeros takes about 180 µs here, one that grows the file about 280 µs.
 * A file is extended by about its own length (so a small queue wastes little), 4 KiB at least, 1 MiB at
 * most, and only by batches smaller than PREALLOCATE_BELOW: a large batch's sync is dominated by its data,
 * and zeros would double the bytes written. Recovery reads a tail of zeros as the end of the data
 * (see recovery.ts).
 */
const MIN_PREALLOCATION = 4 * 1024
const MAX_PREALLOCATION = 1024 * 1024
const PREALLOCATE_BELOW = 64 * 1024
/** Never modified: only ever written out */
const ZEROS = Buffer.alloc(MAX_PREALLOCATION)

/** Zeros to write after data ending at `end`: about `end` bytes, rounded up to whole 4 KiB pages. */
function preallocationAfter(end: number): number {
  const wanted = Math.min(MAX_PREALLOCATION, Math.max(MIN_PREALLOCATION, end))
  return Math.ceil((end + wanted) / 4096) * 4096 - end
}

export interface AppendFileOptions {
  /** Publishers wait for this file's syncs (a messages file); default true */
  awaited?: boolean
  /** Zeros are written ahead of the data up to this file length at most; default 0: none */
  preallocateUpTo?: number
}

/** Receives files that have bytes to write; the message store commits them as one batch. */
export interface CommitQueue {
  enqueue(file: AppendFile): void
}

export class AppendFile {
  /** Length of the file once everything buffered is written */
  size: number
  /** Bytes whose write has completed (readable from the file); the rest is still in memory */
  private writtenBytes: number
  /** Bytes known to be on stable storage: the file is cut back to this length before a failed write is redone */
  private syncedBytes: number
  /** Length of the file on disk as far as this process wrote it: the data, then zeros written ahead */
  private allocatedBytes: number
  /** A write or sync failed: bytes past syncedBytes may be on disk, torn, or cached but lost */
  private needsRepair = false
  private fd: number | null = null
  private fdWritable = false
  private opening: Promise<number> | null = null
  private existsOnDisk: boolean
  private block: Buffer | null = null
  private blockUsed = 0
  /** Start of the block's bytes not yet moved to `pending` */
  private blockTaken = 0
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Chunks handed to the commit writing now, until their write completes */
  private inFlight: Buffer[] = []
  /** Chunks written but not yet known synced, one list per write, with the file length after each write */
  private unsynced: Buffer[][] = []
  private unsyncedEnds: number[] = []
  private unsyncedBytes = 0
  private readsInFlight = 0
  private closeRequested = false
  /** In the commit queue already */
  queued = false
  /** The file's segment or queue is gone: buffered bytes are dropped instead of written */
  discarded = false
  /** The file's entry in its directory is durable (the store syncs the directory of a new file) */
  directoryEntrySynced: boolean
  /**
   * Publishers wait for this file's bytes (a messages file: confirms follow its sync); an acks file's bytes
   * nobody waits for, so they ride along with the next commit rather than take a commit of their own
   */
  readonly awaited: boolean
  private readonly preallocateUpTo: number

  constructor(
    readonly path: string,
    initialSize: number,
    existsOnDisk: boolean,
    private readonly io: StoreFileSystem,
    private readonly commits: CommitQueue,
    options: AppendFileOptions = {},
  ) {
    this.awaited = options.awaited ?? true
    this.preallocateUpTo = options.preallocateUpTo ?? 0
    this.size = initialSize
    this.writtenBytes = initialSize
    this.syncedBytes = initialSize
    // A recovered file may have zeros past its data: they are written over like any other
    this.allocatedBytes = initialSize
    this.existsOnDisk = existsOnDisk
    this.directoryEntrySynced = existsOnDisk
  }

  /** Something is left for a commit to do: bytes to write, a failed write to redo, or a new file's entry to sync. */
  get needsCommit(): boolean {
    return this.pendingBytes > 0 || this.blockUsed > this.blockTaken || this.needsRepair || !this.directoryEntrySynced
  }

  /** Returns a buffer and the index at which `bytes` contiguous bytes may be written; they are queued. */
  reserve(bytes: number): { buffer: Buffer; at: number } {
    if (this.block === null || this.block.length - this.blockUsed < bytes) {
      this.takeBlockBytes()
      let blockSize = MIN_BLOCK
      while (blockSize < MAX_BLOCK && blockSize < bytes + this.pendingBytes) blockSize *= 2
      this.block = Buffer.allocUnsafe(Math.max(blockSize, bytes))
      this.blockUsed = 0
      this.blockTaken = 0
    }
    const at = this.blockUsed
    this.blockUsed += bytes
    this.size += bytes
    this.markDirty()
    return { buffer: this.block, at }
  }

  /** Queues a buffer by reference; it must not be modified afterwards. */
  appendBuffer(buffer: Buffer): void {
    this.takeBlockBytes()
    this.pending.push(buffer)
    this.pendingBytes += buffer.length
    this.size += buffer.length
    this.markDirty()
  }

  private markDirty(): void {
    if (!this.queued) {
      this.queued = true
      this.commits.enqueue(this)
    }
  }

  private takeBlockBytes(): void {
    if (this.block !== null && this.blockUsed > this.blockTaken) {
      this.pending.push(this.block.subarray(this.blockTaken, this.blockUsed))
      this.pendingBytes += this.blockUsed - this.blockTaken
      this.blockTaken = this.blockUsed
    }
  }

  /** Moves everything buffered to the commit starting now; returns the chunks to write (with write()). */
  takeForCommit(): Buffer[] {
    this.takeBlockBytes()
    const chunks = this.pending
    this.inFlight = chunks
    this.pending = []
    this.pendingBytes = 0
    // A mostly used block is let go so an idle file does not pin it
    if (this.block !== null && this.blockUsed * 2 > this.block.length) this.block = null
    return chunks
  }

  /**
   * Writes the chunks at the end of the file's data (opening it, and first cutting off what a failed write or sync
   * left, if needed). Returns the length the file's next fdatasync must cover, or -1 when there is nothing
   * to sync (no bytes, or the file was discarded meanwhile). The written chunks are kept in memory until
   * markSynced covers them, so that a failed sync (of this commit or an earlier one still in flight) can
   * write them again. On failure the chunks go back to the front of the pending bytes.
   */
  async write(chunks: Buffer[]): Promise<number> {
    let bytes = 0
    for (const chunk of chunks) bytes += chunk.length
    try {
      if (bytes === 0 && !this.needsRepair) return -1
      const fd = await this.openForWriting()
      this.existsOnDisk = true
      // The queue was deleted while the file was being opened: its bytes are not wanted any more
      if (this.discarded) return -1
      if (this.needsRepair) {
        // After a failed write or fdatasync the bytes past the last sync cannot be trusted, even if the page
        // cache shows them (Linux may have marked unwritten pages clean): cut them off and write them again
        await this.io.truncate(fd, this.syncedBytes)
        this.allocatedBytes = this.syncedBytes
        this.needsRepair = false
      }
      if (bytes > 0) {
        const end = this.writtenBytes + bytes
        const zeros =
          end > this.allocatedBytes && bytes < PREALLOCATE_BELOW
            ? Math.max(0, Math.min(preallocationAfter(end), this.preallocateUpTo - end))
            : 0
        await this.io.appendAll(fd, zeros > 0 ? chunks.concat(ZEROS.subarray(0, zeros)) : chunks, this.writtenBytes)
        this.allocatedBytes = Math.max(this.allocatedBytes, end + zeros)
      }
    } catch (error) {
      // Nothing of these chunks counts as written: they are written again (after a cut) by the retry
      this.pending = chunks.concat(this.pending)
      this.pendingBytes += bytes
      this.inFlight = []
      this.needsRepair = this.existsOnDisk
      throw error
    }
    this.writtenBytes += bytes
    this.inFlight = []
    if (bytes > 0) {
      this.unsynced.push(chunks)
      this.unsyncedEnds.push(this.writtenBytes)
      this.unsyncedBytes += bytes
    }
    return this.writtenBytes
  }

  /** fdatasyncs the file (a sync issued after a write completed covers it, and every write before it). */
  async sync(): Promise<void> {
    if (this.fd === null) throw new Error(`${this.path} is not open`)
    await this.io.datasync(this.fd)
  }

  /**
   * The bytes up to `length` are on stable storage. The store calls this in batch order, and only while
   * every earlier batch was durable too (after a failed sync, a later one on the same file may report
   * success although pages were lost).
   */
  markSynced(length: number): void {
    if (length <= this.syncedBytes) return
    this.syncedBytes = length
    while (this.unsyncedEnds.length > 0 && this.unsyncedEnds[0]! <= length) {
      const chunks = this.unsynced.shift()!
      this.unsyncedEnds.shift()
      for (const chunk of chunks) this.unsyncedBytes -= chunk.length
    }
  }

  /**
   * A write or sync of this file failed, or a batch it was written in was reported failed: everything past
   * the last sync is written again, from memory, by the next commit (after cutting the file back). Called
   * only when no write or sync of the file is in flight.
   */
  rewindToSynced(): void {
    if (this.unsynced.length > 0) {
      const chunks = this.unsynced.flat()
      this.pending = chunks.concat(this.pending)
      this.pendingBytes += this.unsyncedBytes
      this.unsynced = []
      this.unsyncedEnds = []
      this.unsyncedBytes = 0
    }
    // Bytes past the last sync may be on disk, torn, or cached but lost: the next write cuts them off first
    if (this.writtenBytes > this.syncedBytes) this.needsRepair = this.existsOnDisk
    this.writtenBytes = this.syncedBytes
  }

  private async openForWriting(): Promise<number> {
    if (this.fd !== null && this.fdWritable) return this.fd
    if (this.fd !== null) {
      // Opened read-only for a synchronous read: replace it (its close cannot lose data: nothing was written)
      const readOnly = this.fd
      this.fd = null
      await this.io.close(readOnly).catch(() => undefined)
    }
    const fd = await this.openAsync()
    this.fdWritable = true
    return fd
  }

  private openAsync(): Promise<number> {
    if (this.fd !== null) return Promise.resolve(this.fd)
    this.opening ??= this.io.openAppend(this.path).then(
      (fd) => {
        this.opening = null
        if (this.fd !== null) {
          // A synchronous read opened it meanwhile, read-only: writes need this one (the read is over: it is
          // synchronous; as in openForWriting, closing a read-only descriptor cannot lose data)
          this.io.close(this.fd).catch(() => undefined)
        }
        this.fd = fd
        this.fdWritable = true
        return fd
      },
      (error: unknown) => {
        this.opening = null
        throw error
      },
    )
    return this.opening
  }

  /** Reads `length` bytes at `offset`, from memory if they are not written yet. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset + length > this.size) throw new RangeError(`read past the end of ${this.path}`)
    if (offset >= this.writtenBytes) return this.readFromMemory(offset, length)
    if (this.closeRequested) throw new Error(`${this.path} is closed`)
    this.readsInFlight++
    try {
      const fd = await this.openAsync()
      const target = Buffer.allocUnsafe(length)
      const got = await this.io.read(fd, target, offset)
      if (got !== length) throw new Error(`short read in ${this.path} at ${offset}: ${got} of ${length} bytes`)
      return target
    } finally {
      this.readsInFlight--
      if (this.closeRequested && this.readsInFlight === 0) void this.closeNow()
    }
  }

  readSync(offset: number, length: number): Buffer {
    if (offset + length > this.size) throw new RangeError(`read past the end of ${this.path}`)
    if (offset >= this.writtenBytes) return this.readFromMemory(offset, length)
    if (this.closeRequested) throw new Error(`${this.path} is closed`)
    if (this.fd === null) {
      this.fd = this.io.openReadSync(this.path)
      this.fdWritable = false
    }
    const target = Buffer.allocUnsafe(length)
    const got = this.io.readSync(this.fd, target, offset)
    if (got !== length) throw new Error(`short read in ${this.path} at ${offset}: ${got} of ${length} bytes`)
    return target
  }

  /** Bytes not yet written are, in order: in flight, pending, then the block's untaken part. */
  private readFromMemory(offset: number, length: number): Buffer {
    const chunks = [...this.inFlight, ...this.pending]
    if (this.block !== null && this.blockUsed > this.blockTaken) {
      chunks.push(this.block.subarray(this.blockTaken, this.blockUsed))
    }
    let chunkStart = this.writtenBytes
    const parts: Buffer[] = []
    let wanted = length
    let from = offset
    for (const chunk of chunks) {
      const chunkEnd = chunkStart + chunk.length
      if (from < chunkEnd) {
        const part = chunk.subarray(from - chunkStart, Math.min(chunk.length, from - chunkStart + wanted))
        parts.push(part)
        wanted -= part.length
        from += part.length
        if (wanted === 0) break
      }
      chunkStart = chunkEnd
    }
    if (wanted !== 0) throw new RangeError(`bytes at ${offset} of ${this.path} not found in memory`)
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, length)
  }

  /** Closes the descriptor once reads in progress finish. Buffered bytes are dropped. */
  async close(): Promise<void> {
    this.closeRequested = true
    this.pending = []
    this.pendingBytes = 0
    this.unsynced = []
    this.unsyncedEnds = []
    this.unsyncedBytes = 0
    this.block = null
    this.blockUsed = this.blockTaken = 0
    if (this.opening !== null) await this.opening.catch(() => undefined)
    // The zeros written ahead are given back: a stopped broker's files hold their data only. (Not synced: if
    // the cut is lost, recovery reads the zeros as the end of the data all the same.)
    if (this.fd !== null && this.fdWritable && !this.discarded && this.allocatedBytes > this.writtenBytes) {
      await this.io.truncate(this.fd, this.writtenBytes).catch(() => undefined)
      this.allocatedBytes = this.writtenBytes
    }
    if (this.readsInFlight === 0) await this.closeNow()
  }

  /** Never rejects: Linux releases the descriptor even when close reports an error, and data is synced before. */
  private async closeNow(): Promise<void> {
    const fd = this.fd
    this.fd = null
    if (fd !== null) await this.io.close(fd).catch(() => undefined)
  }
}
