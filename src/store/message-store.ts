// The durable message store: one directory per durable queue, and a group commit shared by all of them.
//
// Appends and acks only copy bytes into per-file buffers. The first write of a batch schedules a commit
// for the next turn of the event loop; the commit writes every file with buffered bytes, fdatasyncs each
// of them in parallel, and only then reports the batch durable. Writes made while a commit runs go to the
// next batch. So the cost of a sync is shared by every message of every queue in the batch, and a
// publisher confirm waits for at most one commit in progress plus its own.
import { createHash } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, promises as fsp, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Logger } from '../util/logger.js'
import type { AppendFile, CommitQueue } from './append-file.js'
import { nodeFileSystem, type StoreFileSystem } from './file-io.js'
import { MAX_SEGMENT_BYTES, type RecoveredMessage } from './record.js'
import { NAME_FILE, recoverQueue } from './recovery.js'
import { QueueStore, type QueueStoreHost } from './queue-store.js'
import type { Segment } from './segment.js'

export type { RecoveredMessage, StoredMessage } from './record.js'
export type { StoreFileSystem } from './file-io.js'
export { QueueStore } from './queue-store.js'

export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024

export interface MessageStoreOptions {
  /** A segment file is closed for appends once it would grow past this (default 16 MiB) */
  segmentSize?: number
  /** File operations of the write path; tests replace it to count syncs or inject failures */
  fileSystem?: StoreFileSystem
}

function syncPathSync(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex')
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

interface FlushWaiter {
  batch: number
  resolve: () => void
  reject: (error: Error) => void
}

export class MessageStore {
  private readonly io: StoreFileSystem
  /** What queue stores and files see of this store */
  private readonly host: QueueStoreHost
  private readonly queues = new Map<string, QueueStore>()
  private readonly opening = new Set<string>()
  private dirtyFiles: AppendFile[] = []
  private segmentsToRemove: Segment[] = []
  private commitScheduled = false
  private running: Promise<void> | null = null
  private batch = 1
  private durable = 0
  private readonly durableListeners: ((durableBatch: number) => void)[] = []
  private readonly errorListeners: ((error: Error) => void)[] = []
  private readonly batchFailedListeners: ((failedBatch: number, error: Error) => void)[] = []
  private flushWaiters: FlushWaiter[] = []
  private failure: Error | null = null
  private closed = false

  constructor(
    readonly dataDir: string,
    readonly log: Logger,
    options: MessageStoreOptions = {},
  ) {
    this.io = options.fileSystem ?? nodeFileSystem
    const commits: CommitQueue = { enqueue: (file) => this.enqueue(file) }
    this.host = {
      io: this.io,
      commits,
      // Offsets in a position are u32: a segment must stay below 4 GiB
      segmentSize: Math.min(options.segmentSize ?? DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_BYTES),
      log,
      writable: () => this.failure === null && !this.closed,
      assertWritable: () => this.assertWritable(),
      removeSegment: (segment) => this.removeSegment(segment),
    }
  }

  /** The batch number that writes made now will be durable in. */
  get currentBatch(): number {
    return this.batch
  }

  /** Highest batch number settled: on stable storage, or failed (onBatchFailed). */
  get durableBatch(): number {
    return this.durable
  }

  /** The error that stopped the store, if a commit failed. */
  get failed(): Error | null {
    return this.failure
  }

  /** Called synchronously, once per completed batch, with the new durableBatch. */
  onDurable(listener: (durableBatch: number) => void): void {
    this.durableListeners.push(listener)
  }

  /**
   * Called when the writes of a batch could not be made durable. Every batch is settled exactly once and in
   * order: either onDurable or onBatchFailed listeners hear of it.
   */
  onBatchFailed(listener: (failedBatch: number, error: Error) => void): void {
    this.batchFailedListeners.push(listener)
  }

  /** Called once if a commit fails; the store then accepts no more writes (see docs/storage.md). */
  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener)
  }

  /** The directory of a queue's store. */
  queueDir(vhost: string, queue: string): string {
    return join(this.dataDir, 'vhosts', sha1(vhost), 'queues', sha1(queue))
  }

  /**
   * Opens (creating if needed) a durable queue's store and returns its unacked messages in order, or hands
   * them to onMessage one by one as they are read (then messages is empty).
   */
  async openQueue(
    vhost: string,
    queue: string,
    onMessage?: (message: RecoveredMessage) => void,
  ): Promise<{ store: QueueStore; messages: RecoveredMessage[] }> {
    this.assertWritable()
    const dir = this.queueDir(vhost, queue)
    if (this.queues.has(dir) || this.opening.has(dir)) throw new Error(`queue store of ${queue} is already open`)
    this.opening.add(dir)
    try {
      await this.createQueueDir(dir, vhost, queue)
      const started = performance.now()
      const sink = onMessage && { push: onMessage }
      const recovered = await recoverQueue(dir, { io: this.io, commits: this.host.commits, log: this.log }, sink)
      if (recovered.messages.length > 0) {
        const ms = Math.round(performance.now() - started)
        this.log.info({ vhost, queue, messages: recovered.messages.length, ms }, 'recovered durable messages')
      }
      const store = new QueueStore(vhost, queue, dir, this.host, recovered)
      this.queues.set(dir, store)
      return { store, messages: recovered.messages }
    } finally {
      this.opening.delete(dir)
    }
  }

  /**
   * The store of a queue declared just now: nothing to recover, so it is made synchronously and declare-ok
   * can follow at once. Declarations are rare; the few blocking syscalls (and syncs of the new directory
   * entries) cost less than making every declare wait on a promise.
   */
  createQueue(vhost: string, queue: string): QueueStore {
    this.assertWritable()
    const dir = this.queueDir(vhost, queue)
    if (this.queues.has(dir) || this.opening.has(dir)) throw new Error(`queue store of ${queue} is already open`)
    // Left over from a queue deleted just before a crash: a new queue starts empty
    rmSync(dir, { recursive: true, force: true })
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
    const store = new QueueStore(vhost, queue, dir, this.host, { segments: [], nextSegmentId: 1, messages: [] })
    this.queues.set(dir, store)
    return store
  }

  /** Creates the queue's directory and name file, syncing each new directory entry up to the data dir. */
  private async createQueueDir(dir: string, vhost: string, queue: string): Promise<void> {
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
    await this.io.syncDirectory(dir)
    if (firstCreated === undefined) return
    // Each directory mkdir created is an entry in its parent, which must be synced to survive a power loss
    const top = dirname(firstCreated)
    for (let parent = dirname(dir); ; parent = dirname(parent)) {
      await this.io.syncDirectory(parent)
      if (parent === top || parent === dirname(parent)) break
    }
  }

  /** Lists the durable queue stores found on disk (vhost + name), for recovery. */
  async listQueues(): Promise<{ vhost: string; queue: string }[]> {
    const found: { vhost: string; queue: string }[] = []
    const vhostsDir = join(this.dataDir, 'vhosts')
    for (const vhostHash of await this.listDir(vhostsDir)) {
      const queuesDir = join(vhostsDir, vhostHash, 'queues')
      for (const queueHash of await this.listDir(queuesDir)) {
        const nameFile = join(queuesDir, queueHash, NAME_FILE)
        try {
          const parsed: unknown = JSON.parse(await fsp.readFile(nameFile, 'utf8'))
          const { vhost, queue } = (parsed ?? {}) as Record<string, unknown>
          if (typeof vhost !== 'string' || typeof queue !== 'string') throw new Error('no vhost and queue names')
          if (sha1(vhost) !== vhostHash || sha1(queue) !== queueHash) throw new Error('names do not match the path')
          found.push({ vhost, queue })
        } catch (error) {
          this.log.warn({ file: nameFile, err: errorText(error) }, 'unreadable queue name file; queue skipped')
        }
      }
    }
    return found
  }

  private async listDir(dir: string): Promise<string[]> {
    try {
      return await fsp.readdir(dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log.warn({ dir, err: errorText(error) }, 'cannot list directory')
      }
      return []
    }
  }

  /** Removes a queue's directory (queue deleted). */
  async deleteQueue(vhost: string, queue: string): Promise<void> {
    const dir = this.queueDir(vhost, queue)
    const store = this.queues.get(dir)
    this.queues.delete(dir)
    store?.discard()
    // A commit running now may still be writing this queue's files; later ones skip them. (Waiting for
    // the store to be idle instead could wait forever under steady traffic.)
    if (this.running !== null) await this.running
    await store?.closeFiles()
    await fsp.rm(dir, { recursive: true, force: true })
    await this.io.syncDirectory(dirname(dir)).catch(() => undefined)
  }

  private assertWritable(): void {
    if (this.failure !== null) throw new Error(`message store failed: ${this.failure.message}`)
    if (this.closed) throw new Error('message store is closed')
  }

  /** A file has bytes for the next commit. */
  private enqueue(file: AppendFile): void {
    this.dirtyFiles.push(file)
    this.scheduleCommit()
  }

  /** A segment is fully acked: its files go in the next commit. */
  private removeSegment(segment: Segment): void {
    this.segmentsToRemove.push(segment)
    this.scheduleCommit()
  }

  private scheduleCommit(): void {
    if (this.commitScheduled || this.running !== null || this.failure !== null) return
    this.commitScheduled = true
    setImmediate(this.startCommit)
  }

  private readonly startCommit = (): void => {
    this.commitScheduled = false
    this.running = this.commit().finally(() => {
      this.running = null
      if (this.dirtyFiles.length > 0 || this.segmentsToRemove.length > 0) this.scheduleCommit()
    })
  }

  private async commit(): Promise<void> {
    const batch = this.batch++
    const files = this.dirtyFiles
    const segments = this.segmentsToRemove
    this.dirtyFiles = []
    this.segmentsToRemove = []

    const writing: AppendFile[] = []
    const writes: Promise<boolean>[] = []
    for (const file of files) {
      file.queued = false
      if (file.discarded) continue
      writing.push(file)
      writes.push(file.writeAndSync(file.takeForCommit()))
    }
    const results = await Promise.allSettled(writes)
    const newFileDirs = new Set<string>()
    for (const [i, result] of results.entries()) {
      if (result.status === 'rejected') return this.fail(result.reason, writing[i]!.path)
      if (result.value) newFileDirs.add(dirname(writing[i]!.path))
    }
    // A new file's directory entry must be durable too, or a power loss could lose the whole file
    const dirSyncs = await Promise.allSettled([...newFileDirs].map((dir) => this.io.syncDirectory(dir)))
    for (const result of dirSyncs) if (result.status === 'rejected') return this.fail(result.reason, 'directory')

    this.durable = batch
    for (const listener of this.durableListeners) {
      try {
        listener(batch)
      } catch (error) {
        this.log.error({ err: errorText(error) }, 'durable listener threw')
      }
    }
    // Removing acked segments does not delay confirms: it runs after the batch is reported durable.
    // flush() waits for it, so that after a flush the files on disk are exactly the store's state.
    await this.removeSegmentFiles(segments)
    this.settleFlushWaiters()
  }

  private async removeSegmentFiles(segments: Segment[]): Promise<void> {
    if (segments.length === 0) return
    const dirs = new Set<string>()
    await Promise.all(
      segments.map(async (segment) => {
        await Promise.all([segment.msgs.close(), segment.acks.close()])
        // Messages first: a crash between the two leaves an orphan acks file, which recovery removes
        for (const file of [segment.msgs, segment.acks]) {
          try {
            await fsp.unlink(file.path)
            dirs.add(dirname(file.path))
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
              this.log.warn({ file: file.path, err: errorText(error) }, 'cannot remove acked segment file')
            }
          }
        }
      }),
    )
    // Without this a power loss could bring back the files, and so redeliver their acked messages
    await Promise.all([...dirs].map((dir) => this.io.syncDirectory(dir).catch(() => undefined)))
  }

  private fail(reason: unknown, path: string): void {
    const error = reason instanceof Error ? reason : new Error(String(reason))
    this.failure = error
    // After a failed write or fdatasync the file's state is unknown (the kernel may have dropped the
    // dirty pages), so retrying could report data durable that is not: the store stops instead.
    this.log.error({ file: path, err: error.message }, 'message store write failed; no more writes are accepted')
    for (const waiter of this.flushWaiters) waiter.reject(error)
    this.flushWaiters = []
    // The failed batch and every batch that writes were made in since will never be durable
    const lastBatch = this.batch++
    for (let batch = this.durable + 1; batch <= lastBatch; batch++) {
      this.durable = batch
      for (const listener of this.batchFailedListeners) {
        try {
          listener(batch, error)
        } catch (listenerError) {
          this.log.error({ err: errorText(listenerError) }, 'batch-failed listener threw')
        }
      }
    }
    for (const listener of this.errorListeners) {
      try {
        listener(error)
      } catch (listenerError) {
        this.log.error({ err: errorText(listenerError) }, 'error listener threw')
      }
    }
  }

  private settleFlushWaiters(): void {
    const waiting: FlushWaiter[] = []
    for (const waiter of this.flushWaiters) {
      if (waiter.batch <= this.durable) waiter.resolve()
      else waiting.push(waiter)
    }
    this.flushWaiters = waiting
  }

  /** Writes and fdatasyncs everything pending; resolves when durable. */
  flush(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure)
    const hasUnscheduledWork = this.dirtyFiles.length > 0 || this.commitScheduled
    const target = hasUnscheduledWork ? this.batch : this.running !== null ? this.batch - 1 : this.durable
    if (target <= this.durable) return Promise.resolve()
    return new Promise((resolve, reject) => this.flushWaiters.push({ batch: target, resolve, reject }))
  }

  /** Waits until no commit is scheduled or running (segment removals included). */
  private async waitUntilIdle(): Promise<void> {
    while (this.running !== null || this.commitScheduled) {
      await (this.running ?? new Promise<void>((resolve) => setImmediate(resolve)))
    }
  }

  /** Refuses new writes, writes and syncs what is pending, then closes every file. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.flush().catch(() => undefined)
    await this.waitUntilIdle()
    await Promise.all([...this.queues.values()].map((store) => store.closeFiles()))
    this.queues.clear()
  }
}
