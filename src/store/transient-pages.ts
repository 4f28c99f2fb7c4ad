// The page area of transient messages: `<data dir>/transient/`, one file per page (a chunk of a long queue's
// packed records, broker/queue/packed-run.ts), written when the ready messages of all queues hold more bytes
// than the message memory budget, and removed as soon as it is read back. Nothing here survives the process:
// transient messages are lost at a restart anyway, so the directory is wiped at start and at a clean stop,
// and files are neither synced nor checksummed (a page is read back by the process that wrote it).
//
// One file per page rather than one append file: a page read back frees its disk space at once (unlink), a
// deleted or purged queue removes its own files, and nothing has to be compacted. Pages are large (up to 32
// MiB), so there are few files.
//
// A write that fails (a full disk, no descriptors, an I/O error) loses nothing: the page stays in memory,
// the message memory budget is overrun (the memory alarm remains the limit) and no page is written for a
// while (WRITE_PAUSE_MIN_MS, doubling up to WRITE_PAUSE_MAX_MS while writes keep failing). When the pause is
// over, one timer tries again for every queue that kept chunks in memory meanwhile (PagingRetry), so paging
// resumes once the fault clears even if no queue completes another chunk (publishing may have stopped).
import * as fs from 'node:fs'
import { join } from 'node:path'
import { randomInt } from 'node:crypto'
import type { Logger } from '../util/logger.js'
import { writeAllAt } from './file-io.js'

/** The file operations of the page area; tests replace them to inject failures. */
export interface PageFileSystem {
  /** Creates the file (replacing any) with `buffers` as its content. */
  write(path: string, buffers: Buffer[]): Promise<void>
  read(path: string): Promise<Buffer>
  readSync(path: string): Buffer
  /** Removes the file, in the background; a missing file is no error. */
  remove(path: string): void
}

export interface TransientPageOptions {
  /** The largest page (chunk) a queue makes; tests make it small to get many pages from few messages */
  maxChunkBytes?: number
  fileSystem?: PageFileSystem
}

export const nodePageFileSystem: PageFileSystem = {
  async write(path, buffers) {
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(path, 'w', 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
    )
    try {
      await writeAllAt(fd, buffers, 0)
    } finally {
      await new Promise<void>((resolve) => fs.close(fd, () => resolve()))
    }
  },
  read: (path) => fs.promises.readFile(path),
  readSync: (path) => fs.readFileSync(path),
  remove: (path) => fs.unlink(path, () => {}),
}

/** What is called back when a pause after a failed write is over: a packed run that kept chunks in memory */
export interface PagingRetry {
  retryPaging(): void
}

const WRITE_PAUSE_MIN_MS = 1_000
const WRITE_PAUSE_MAX_MS = 30_000

export class TransientPages {
  readonly dir: string
  readonly maxChunkBytes: number
  /** Written in every page and checked when it is read: a page of another process is never taken for ours */
  readonly run = randomInt(2 ** 32)
  private readonly io: PageFileSystem
  private opened = false
  private nextFile = 0
  /** Body bytes of the pages being written: still in memory, soon not */
  writingBytes = 0
  /** Pages being written */
  writes = 0
  /** Pages written and not yet read back or removed */
  files = 0
  private writeFailures = 0
  private pausedUntil = 0
  /** Runs to call back when the pause is over, and the one timer for it */
  private readonly retries = new Set<PagingRetry>()
  private retryTimer: NodeJS.Timeout | undefined
  private readonly onRetryDue = (): void => {
    this.retryTimer = undefined
    if (!this.opened) return
    // Paused longer meanwhile (another write failed): wait on
    if (Date.now() < this.pausedUntil) return this.armRetry()
    const runs = [...this.retries]
    this.retries.clear()
    for (const run of runs) {
      try {
        run.retryPaging()
      } catch (err) {
        this.log.error({ err }, 'paging transient messages out failed')
      }
    }
  }

  constructor(
    dataDir: string,
    private readonly log: Logger,
    options: TransientPageOptions = {},
  ) {
    this.dir = join(dataDir, 'transient')
    this.maxChunkBytes = options.maxChunkBytes ?? Infinity
    this.io = options.fileSystem ?? nodePageFileSystem
  }

  /** Wipes what an earlier run left (never read: its messages were transient) and starts paging. */
  open(): void {
    fs.rmSync(this.dir, { recursive: true, force: true })
    fs.mkdirSync(this.dir, { recursive: true })
    this.opened = true
  }

  /** Stops paging and removes the page area (best effort: the next start wipes it anyway). */
  close(): void {
    if (!this.opened) return
    this.opened = false
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.retries.clear()
    try {
      fs.rmSync(this.dir, { recursive: true, force: true })
    } catch {
      // left for the next start
    }
  }

  /** Open (after open(), until close()): pages may be written and read */
  get isOpen(): boolean {
    return this.opened
  }

  /** Whether a page may be written now: open, and not pausing after a failed write. */
  usable(): boolean {
    return this.opened && (this.pausedUntil === 0 || Date.now() >= this.pausedUntil)
  }

  /**
   * `run` kept chunks in memory (a write failed, or writes pause): it is called back once the pause is over,
   * by a single timer for all runs (not kept alive by it, cleared at close).
   */
  retryLater(run: PagingRetry): void {
    if (!this.opened) return
    this.retries.add(run)
    this.armRetry()
  }

  /** `run` has nothing left to page (its queue was emptied, purged or deleted): no call back. */
  forget(run: PagingRetry): void {
    this.retries.delete(run)
  }

  private armRetry(): void {
    if (this.retryTimer !== undefined || this.retries.size === 0) return
    this.retryTimer = setTimeout(this.onRetryDue, Math.max(this.pausedUntil - Date.now(), 0))
    this.retryTimer.unref()
  }

  /** A new page's file name; the caller writes it with write(). */
  newPath(): string {
    return join(this.dir, String(this.nextFile++))
  }

  /**
   * Writes a page holding `bodyBytes` of message bodies. Resolves true when written, false when the write
   * failed (the caller keeps the page in memory; writes pause for a while).
   */
  async write(path: string, buffers: Buffer[], bodyBytes: number): Promise<boolean> {
    this.writingBytes += bodyBytes
    this.writes++
    try {
      await this.io.write(path, buffers)
    } catch (err) {
      this.io.remove(path)
      this.writeFailed(err)
      return false
    } finally {
      this.writingBytes -= bodyBytes
      this.writes--
    }
    this.files++
    if (this.writeFailures > 0) {
      this.log.info({ failures: this.writeFailures }, 'transient messages are paged out to disk again')
      this.writeFailures = 0
      this.pausedUntil = 0
    }
    return true
  }

  read(path: string): Promise<Buffer> {
    return this.io.read(path)
  }

  readSync(path: string): Buffer {
    return this.io.readSync(path)
  }

  /** A page written by write() is no longer needed: read back, or its queue dropped it. */
  remove(path: string): void {
    this.files--
    this.io.remove(path)
  }

  /** A write that failed was already removed by write(); a page whose write is still going is removed by its owner. */
  private writeFailed(err: unknown): void {
    this.writeFailures++
    const pause = Math.min(WRITE_PAUSE_MIN_MS * 2 ** Math.min(this.writeFailures - 1, 16), WRITE_PAUSE_MAX_MS)
    this.pausedUntil = Date.now() + pause
    if (!this.opened) return
    // Said at the first failure, then now and then while it lasts
    if (this.writeFailures === 1 || this.writeFailures % 100 === 0)
      this.log.warn(
        { err: err instanceof Error ? err.message : String(err), failures: this.writeFailures, pauseMs: pause },
        'cannot page transient messages out to disk: they stay in memory (the memory alarm is the limit)',
      )
  }
}
