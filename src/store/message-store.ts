// The durable message store: one directory per durable queue, and a group commit shared by all of them.
//
// Appends and acks only copy bytes into per-file buffers. The first write of a batch schedules a commit
// for the next turn of the event loop; the commit writes every file with buffered bytes, fdatasyncs each
// of them in parallel, and only then reports the batch durable. Writes made while a commit runs go to the
// next batch, which may be written and synced while the previous batch's fdatasync is still in flight
// (batches are reported in order). So the cost of a sync is shared by every message of every queue in the
// batch, and a publisher confirm waits for about one sync.
//
// A commit that fails (disk full, I/O error, out of descriptors) is reported failed, and the store keeps
// the bytes and retries with a growing delay; new messages are refused until a retry succeeds. Deleted
// queues' directories are renamed into a trash directory at once, and removed from there in the background.
import { existsSync, promises as fsp } from 'node:fs'
import { dirname } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Logger } from '../util/logger.js'
import type { TransientPageOptions } from './transient-pages.js'
import type { AppendFile, CommitQueue } from './append-file.js'
import { nodeFileSystem, type StoreFileSystem } from './file-io.js'
import { MAX_SEGMENT_BYTES, type RecoveredMessage } from './record.js'
import { recoverQueue, type RecordSink } from './recovery.js'
import { errorCode, errorText } from './error-text.js'
import {
  createQueueDir,
  createQueueDirSync,
  listQueueDirs,
  moveToTrash,
  queueDirOf,
  removeTrash,
} from './queue-dirs.js'
import { QueueStore, type QueueStoreHost } from './queue-store.js'
import type { Segment } from './segment.js'

export type { RecoveredMessage, StoredMessage } from './record.js'
export type { RecordFields } from './record.js'
export type { RecordSink } from './recovery.js'
export type { StoreFileSystem } from './file-io.js'
export { QueueStore } from './queue-store.js'

export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024
/** Where deleted queues' directories go until they are removed (in the data directory: same file system) */
export { TRASH_DIR } from './queue-dirs.js'
/** Delays between retries of a failed commit: doubling from the first to the last */
const FIRST_RETRY_MS = 50
const MAX_RETRY_MS = 1000
/**
 * Commits in flight at once: one syncing while the next writes and syncs. More would mostly hold libuv's
 * four threads with fdatasyncs that the disk serves one after the other anyway.
 */
const MAX_COMMITS_IN_FLIGHT = 2
/**
 * How long work that no publisher waits for (acks, removing acked segments) waits for a commit of messages to
 * join before it is committed on its own (see scheduleCommit).
 */
const UNAWAITED_COMMIT_DELAY_MS = 2
/**
 * While commits of messages follow one another, acks are written (and synced) with one of them at most this
 * often: an acks file's fdatasync in every commit cost the main thread a thread-pool submission and the disk
 * a second flush per commit, for a promise that is weaker anyway (an ack just before a crash may be lost;
 * see docs/storage.md).
 */
const DEFAULT_ACKS_WRITE_INTERVAL_MS = 100

export interface MessageStoreOptions {
  /** A segment file is closed for appends once it would grow past this (default 16 MiB) */
  segmentSize?: number
  /** While messages are committed, acks are written with them at most this often (default 100 ms) */
  acksWriteIntervalMs?: number
  /** File operations of the write path; tests replace it to count syncs or inject failures */
  fileSystem?: StoreFileSystem
  /** The page area of transient messages (transient-pages.ts): tests make its pages small or its writes fail */
  transientPages?: TransientPageOptions
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
  /** A file that publishers wait for (a messages file) is among dirtyFiles, or flush() waits */
  private awaitedDirty = false
  /** Starts a commit of work nobody waits for, unless a commit of messages takes it first */
  private unawaitedTimer: NodeJS.Timeout | null = null
  /** The next commit takes every dirty file, acks files included (flush, close, or no message to wait for) */
  private takeAll = false
  /** When acks files were last taken by a commit (performance.now()) */
  private unawaitedWrittenAt = -Infinity
  private readonly acksWriteIntervalMs: number
  private segmentsToRemove: { segment: Segment; owner: QueueStore }[] = []
  private commitScheduled = false
  /** Ends when the last commit started ends (commits end in order); null when none is in flight */
  private running: Promise<void> | null = null
  /** Resolves once the last commit started has been reported durable or failed */
  private lastReported: Promise<void> = Promise.resolve()
  private activeCommits = 0
  /** A commit is writing: the next one starts once it is done */
  private writing = false
  /** A commit in flight failed: no new commit starts until every one in flight has ended */
  private halted = false
  /** Files with bytes past their last sync that a failed batch wrote: rewound once no commit is in flight */
  private readonly toRewind = new Set<AppendFile>()
  private retryTimer: NodeJS.Timeout | null = null
  private retryDelay = FIRST_RETRY_MS
  /** When the current run of failed commits began (ms since the epoch) */
  private failingSince = 0
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
    this.acksWriteIntervalMs = options.acksWriteIntervalMs ?? DEFAULT_ACKS_WRITE_INTERVAL_MS
    const commits: CommitQueue = { enqueue: (file) => this.enqueue(file) }
    this.host = {
      io: this.io,
      commits,
      // Offsets in a position are u32: a segment must stay below 4 GiB
      segmentSize: Math.min(options.segmentSize ?? DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_BYTES),
      log,
      isClosed: () => this.closed,
      isFailing: () => this.failure !== null,
      assertWritable: () => this.assertWritable(),
      removeSegment: (segment, owner) => this.removeSegment(segment, owner),
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

  /** The error of the last commit while commits fail (new messages are refused); null once one succeeds. */
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

  /**
   * Called when a commit fails after one that succeeded. The store refuses new messages and retries until a
   * commit succeeds again (see docs/storage.md).
   */
  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener)
  }

  /** The directory of a queue's store. */
  queueDir(vhost: string, queue: string): string {
    return queueDirOf(this.dataDir, vhost, queue)
  }

  /**
   * Opens (creating if needed) a durable queue's store and returns its unacked messages in order, or hands
   * them to onMessage one by one as they are read (then messages is empty): as messages, or as the fields of
   * their records (a RecordSink).
   */
  async openQueue(
    vhost: string,
    queue: string,
    onMessage?: ((message: RecoveredMessage) => void) | RecordSink,
  ): Promise<{ store: QueueStore; messages: RecoveredMessage[] }> {
    this.assertOpen()
    const dir = this.queueDir(vhost, queue)
    if (this.queues.has(dir) || this.opening.has(dir)) throw new Error(`queue store of ${queue} is already open`)
    this.opening.add(dir)
    try {
      await createQueueDir(this.io, dir, vhost, queue)
      const started = performance.now()
      const sink = typeof onMessage === 'function' ? { push: onMessage } : onMessage
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
   * entries) cost less than making every declare wait on a promise. Works while commits fail (the queue's
   * messages are refused until they succeed again); throws the file system's error (ENOSPC, EMFILE...) if
   * the directory cannot be made.
   */
  createQueue(vhost: string, queue: string): QueueStore {
    this.assertOpen()
    const dir = this.queueDir(vhost, queue)
    if (this.queues.has(dir) || this.opening.has(dir)) throw new Error(`queue store of ${queue} is already open`)
    // Left over from a queue deleted just before a crash: a new queue starts empty
    if (existsSync(dir)) {
      const leftover = moveToTrash(this.dataDir, dir, this.log)
      if (leftover === null) throw new Error(`cannot move the old ${dir} aside`)
      this.removeDeleted(undefined, dir, leftover).catch((error: unknown) => {
        this.log.warn({ dir: leftover, err: errorText(error) }, 'cannot remove the directory of a deleted queue')
      })
    }
    createQueueDirSync(dir, vhost, queue)
    const store = new QueueStore(vhost, queue, dir, this.host, { segments: [], nextSegmentId: 1, messages: [] })
    this.queues.set(dir, store)
    return store
  }

  /** Lists the durable queue stores found on disk (vhost + name), for recovery. */
  listQueues(): Promise<{ vhost: string; queue: string }[]> {
    return listQueueDirs(this.dataDir, this.log)
  }

  /**
   * Deletes a queue's store. Its directory is renamed into the trash at once, so that a queue of the same
   * name can be declared again right away; the returned promise settles once the trash copy is removed.
   */
  deleteQueue(vhost: string, queue: string): Promise<void> {
    const dir = this.queueDir(vhost, queue)
    const store = this.queues.get(dir)
    this.queues.delete(dir)
    store?.discard()
    const trash = moveToTrash(this.dataDir, dir, this.log)
    return this.removeDeleted(store, dir, trash)
  }

  private async removeDeleted(store: QueueStore | undefined, dir: string, trash: string | null): Promise<void> {
    // A commit running now may still be writing this queue's files (now in the trash); later ones skip them.
    // (Waiting for the store to be idle instead could wait forever under steady traffic.)
    if (this.running !== null) await this.running
    await store?.closeFiles()
    if (trash === null) return
    // The rename is durable before the files go: a power loss cannot bring the queue back half removed
    await this.io.syncDirectory(dirname(dir)).catch(() => undefined)
    await fsp.rm(trash, { recursive: true, force: true })
  }

  /** Removes what deleted queues left in the trash (a crash or a failed removal); called at start. */
  removeTrash(): Promise<void> {
    return removeTrash(this.dataDir, this.log)
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('message store is closed')
  }

  private assertWritable(): void {
    if (this.failure !== null) throw new Error(`message store cannot write: ${this.failure.message}`)
    if (this.closed) throw new Error('message store is closed')
  }

  /** A file has bytes for the next commit. */
  private enqueue(file: AppendFile): void {
    this.dirtyFiles.push(file)
    if (file.awaited) this.awaitedDirty = true
    this.scheduleCommit()
  }

  /** A segment is fully acked: its files go in the next commit. */
  private removeSegment(segment: Segment, owner: QueueStore): void {
    this.segmentsToRemove.push({ segment, owner })
    this.scheduleCommit()
  }

  /**
   * Starts a commit on the next turn, unless one is writing now (writes of a file must stay in order), the
   * pipeline is full, a commit in flight failed, or commits fail (then only the retry timer starts them).
   * Work that no publisher waits for (acks, removing acked segments) does not take a commit of its own at
   * once: it goes with the next commit of messages, or is committed on its own after
   * UNAWAITED_COMMIT_DELAY_MS with no commit in flight. Under steady confirmed publishing with consumers
   * acking, commits of acks alone would otherwise take every other place in flight, and their fdatasyncs
   * would delay the confirms behind them (acks have the weaker promise: see docs/storage.md).
   */
  private scheduleCommit(): void {
    if (this.commitScheduled || this.writing || this.halted || this.failure !== null) return
    if (this.activeCommits >= MAX_COMMITS_IN_FLIGHT) return
    if (!this.awaitedDirty && !this.takeAll) {
      // commitEnded calls again once no commit is in flight
      if (this.activeCommits === 0 && this.unawaitedTimer === null) {
        this.unawaitedTimer = setTimeout(this.startUnawaitedCommit, UNAWAITED_COMMIT_DELAY_MS)
        this.unawaitedTimer.unref()
      }
      return
    }
    this.commitScheduled = true
    process.nextTick(this.startCommit)
  }

  private readonly startUnawaitedCommit = (): void => {
    this.unawaitedTimer = null
    if (this.dirtyFiles.length === 0 && this.segmentsToRemove.length === 0) return
    this.takeAll = true
    this.scheduleCommit()
  }

  private readonly startCommit = (): void => {
    this.commitScheduled = false
    const previousReported = this.lastReported
    const previousDone = this.running
    let reported!: () => void
    this.lastReported = new Promise<void>((resolve) => (reported = resolve))
    this.activeCommits++
    const done: Promise<void> = this.commit(previousReported, reported)
      .catch((error: unknown) => this.log.error({ err: errorText(error) }, 'message store commit threw'))
      // Commits end in order: waiting for the last one started waits for all of them
      .then(async () => {
        await previousDone
      })
      .finally(() => this.commitEnded(done))
    this.running = done
  }

  private commitEnded(done: Promise<void>): void {
    this.activeCommits--
    if (this.running === done) this.running = null
    if (this.activeCommits === 0 && this.halted) {
      // No write or sync is in flight any more: what failed, or was written in a failed batch, is written
      // again from memory by the retry, after cutting each file back to its last synced length
      this.halted = false
      for (const file of this.toRewind) {
        if (file.discarded) continue
        file.rewindToSynced()
        if (file.needsCommit) this.enqueueForRetry(file)
      }
      this.toRewind.clear()
    }
    if (this.failure !== null) {
      if (this.activeCommits === 0 && !this.closed) this.scheduleRetry()
    } else if (this.dirtyFiles.length > 0 || this.segmentsToRemove.length > 0) this.scheduleCommit()
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== null) return
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null
      if (!this.closed && this.running === null) this.startCommit()
    }, this.retryDelay)
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS)
  }

  /**
   * One batch: writes every dirty file (one writev each, in parallel), then fdatasyncs them (and the
   * directories of new files). The next commit may write as soon as this one's writes are done, while this
   * one syncs: write(2) is not a durability point, and batches are still reported in order, each only after
   * its own syncs (which cover its bytes) and after the batch before it was reported durable.
   */
  private async commit(previousReported: Promise<void>, reported: () => void): Promise<void> {
    const batch = this.batch++
    const retrying = this.failure !== null
    let files = this.dirtyFiles
    const segments = this.segmentsToRemove
    this.dirtyFiles = []
    const now = performance.now()
    if (this.takeAll || retrying || !this.awaitedDirty || now - this.unawaitedWrittenAt >= this.acksWriteIntervalMs) {
      this.unawaitedWrittenAt = now
    } else {
      // Acks wait for a later commit: written with messages once the interval is over, or alone once no
      // commit is in flight (scheduleCommit)
      const awaited: AppendFile[] = []
      for (const file of files) (file.awaited || file.discarded ? awaited : this.dirtyFiles).push(file)
      files = awaited
    }
    this.awaitedDirty = false
    this.takeAll = false
    this.segmentsToRemove = []
    // Armed again by commitEnded if work is left once no commit is in flight
    if (this.unawaitedTimer !== null) {
      clearTimeout(this.unawaitedTimer)
      this.unawaitedTimer = null
    }
    let failure: { reason: unknown; path: string } | null = null
    let durable = false
    let writePhase = true
    this.writing = true
    try {
      const writing: AppendFile[] = []
      const writes: Promise<number>[] = []
      for (const file of files) {
        file.queued = false
        if (file.discarded) continue
        writing.push(file)
        writes.push(file.write(file.takeForCommit()))
      }
      const written = await Promise.allSettled(writes)
      const lengths: number[] = []
      for (const [i, result] of written.entries()) {
        const file = writing[i]!
        lengths.push(-1)
        // A file whose queue was deleted meanwhile (its directory moved to the trash) needs nothing more
        if (file.discarded) continue
        if (result.status === 'rejected') failure ??= { reason: result.reason, path: file.path }
        else lengths[i] = result.value
      }
      // A failed write stops the pipeline at once: nothing more is written until the retry has cut it off
      if (failure !== null) this.halted = true
      this.writing = writePhase = false
      if (this.dirtyFiles.length > 0 || this.segmentsToRemove.length > 0) this.scheduleCommit()

      const synced: boolean[] = writing.map(() => false)
      const newFileDirs = new Map<string, AppendFile[]>()
      const syncs: Promise<void>[] = []
      for (const [i, file] of writing.entries()) {
        if (file.discarded || written[i]!.status === 'rejected') continue
        if (!file.directoryEntrySynced) {
          const dir = dirname(file.path)
          newFileDirs.set(dir, [...(newFileDirs.get(dir) ?? []), file])
        }
        if (lengths[i]! < 0) {
          synced[i] = true
          continue
        }
        syncs.push(
          file.sync().then(
            () => void (synced[i] = true),
            (error: unknown) => {
              if (file.discarded) return
              failure ??= { reason: error, path: file.path }
              this.halted = true
            },
          ),
        )
      }
      // A new file's directory entry must be durable too, or a power loss could lose the whole file
      for (const [dir, created] of newFileDirs) {
        syncs.push(
          this.io.syncDirectory(dir).then(
            () => {
              for (const file of created) file.directoryEntrySynced = true
            },
            (error: unknown) => {
              // The queue was deleted while its directory was synced: nothing of it needs to be durable
              if (created.every((file) => file.discarded)) return
              failure ??= { reason: error, path: dir }
              this.halted = true
            },
          ),
        )
      }
      await Promise.all(syncs)

      // Batches are reported in order: a later sync may finish first, but its batch waits for this one's
      await previousReported
      // Failed already, with a batch before it: a later sync on a file whose sync failed may report
      // success although pages were lost, so nothing of this batch counts as synced
      const failedBefore = batch <= this.durable
      if (failedBefore) this.halted = true
      for (const [i, file] of writing.entries()) {
        if (file.discarded) continue
        const ok = !failedBefore && synced[i]!
        if (ok && lengths[i]! >= 0) file.markSynced(lengths[i]!)
        // Every file of a failed batch goes in the retry (one may only lack its directory sync)
        if (!ok || failure !== null) this.toRewind.add(file)
      }
      if (failedBefore) return
      if (failure !== null) {
        this.fail(failure.reason, failure.path)
        return
      }
      if (retrying) this.resumed()
      this.durable = batch
      durable = true
      for (const listener of this.durableListeners) {
        try {
          listener(batch)
        } catch (error) {
          this.log.error({ err: errorText(error) }, 'durable listener threw')
        }
      }
    } finally {
      if (writePhase) this.writing = false
      reported()
      // Removing acked segments does not delay confirms: it runs after the batch is reported durable.
      // Acked segments go even when the batch failed: when the disk is full, that is the space a retry needs.
      // flush() waits for it, so that after a flush the files on disk are exactly the store's state.
      await this.removeSegmentFiles(segments)
      if (durable) this.settleFlushWaiters()
    }
  }

  /** A file whose write failed goes in the next commit (started by the retry timer). */
  private enqueueForRetry(file: AppendFile): void {
    if (file.queued) return
    file.queued = true
    this.dirtyFiles.push(file)
    if (file.awaited) this.awaitedDirty = true
  }

  private async removeSegmentFiles(segments: { segment: Segment; owner: QueueStore }[]): Promise<void> {
    if (segments.length === 0) return
    const dirs = new Set<string>()
    await Promise.all(
      segments.map(async ({ segment, owner }) => {
        await Promise.all([segment.msgs.close(), segment.acks.close()])
        // A deleted queue's directory is removed whole; its path may already be a new queue's of the same name
        if (owner.deleted) return
        // Messages first: a crash between the two leaves an orphan acks file, which recovery removes
        for (const file of [segment.msgs, segment.acks]) {
          try {
            await fsp.unlink(file.path)
            dirs.add(dirname(file.path))
          } catch (error) {
            if (errorCode(error) !== 'ENOENT') {
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
    const first = this.failure === null
    this.failure = error
    // The batch is not retried as such: its publishers hear it failed. Its bytes are written again by the
    // retries, after cutting each file back to its last synced length, so that a retry never reports
    // durable what a failed fdatasync may have lost (see docs/storage.md)
    if (first) {
      this.failingSince = Date.now()
      this.log.error(
        { file: path, err: error.message, code: errorCode(error) },
        'message store write failed; new persistent messages are refused until a retry succeeds',
      )
    } else {
      this.log.debug({ file: path, err: error.message, retryInMs: this.retryDelay }, 'message store retry failed')
    }
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
    if (!first) return
    for (const listener of this.errorListeners) {
      try {
        listener(error)
      } catch (listenerError) {
        this.log.error({ err: errorText(listenerError) }, 'error listener threw')
      }
    }
  }

  /** A commit succeeded after failed ones: new messages are accepted again. */
  private resumed(): void {
    const failedForMs = Date.now() - this.failingSince
    this.log.warn({ failedForMs, lastError: this.failure?.message }, 'message store writes resumed')
    this.failure = null
    this.retryDelay = FIRST_RETRY_MS
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
    const hasUnscheduledWork = this.dirtyFiles.length > 0 || this.segmentsToRemove.length > 0 || this.commitScheduled
    if (this.dirtyFiles.length > 0 || this.segmentsToRemove.length > 0) {
      // Acks and segment removals waited for a commit of messages to join: someone waits for them now
      this.takeAll = true
      this.scheduleCommit()
    }
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

  /** Refuses new writes, writes and syncs what is pending (one last try if commits fail), closes every file. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.unawaitedTimer !== null) {
      clearTimeout(this.unawaitedTimer)
      this.unawaitedTimer = null
    }
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer)
      this.retryTimer = null
      this.startCommit()
    }
    if (this.running !== null) await this.running
    await this.flush().catch(() => undefined)
    await this.waitUntilIdle()
    await Promise.all([...this.queues.values()].map((store) => store.closeFiles()))
    this.queues.clear()
  }
}
