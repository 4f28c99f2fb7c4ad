// An exclusive lock on the data directory: a second broker started on a directory in use refuses before
// it reads or writes anything there (two brokers would each compact definitions.log under the other).
//
// There is no flock in Node without a native module, so the lock is a file, `warren.lock`, created with
// O_EXCL and holding the owner's pid, the start time of that pid (field 22 of /proc/<pid>/stat) and the
// boot id. A lock left by a broker killed with SIGKILL is stale when its pid is gone, or now belongs to
// another process (a different start time), or the machine has rebooted since. A stale lock is taken
// over under a second O_EXCL file, `warren.lock.takeover`: only its holder may remove a stale lock, so two
// brokers starting at once on a stale lock cannot both win (one would otherwise delete the lock the other
// has just created). The lock is removed at a clean stop.
//
// The check relies on pids: brokers in different pid namespaces (two containers sharing a volume) cannot
// see each other's processes, and each would take the other's lock for stale.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { Logger } from '../util/logger.js'

export const LOCK_FILE = 'warren.lock'
const TAKEOVER_FILE = 'warren.lock.takeover'
/** A lock file being written (created, not yet filled) is this young at most; older unreadable ones are stale */
const WRITING_GRACE_MS = 2000
const RETRY_SLEEP_MS = 5
/** About ten seconds of waiting for another broker's takeover or half-written lock */
const MAX_ATTEMPTS = 2000

/** Who holds a lock, as written in the lock file. */
export interface LockOwner {
  pid: number
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat), null where /proc is missing */
  startTime: string | null
  /** /proc/sys/kernel/random/boot_id: a pid and start time name one process within one boot only */
  bootId: string | null
  hostname: string
  /** When the lock was taken (ISO 8601), for people reading the file */
  since: string
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
    readonly lockFile: string,
  ) {
    super(
      `data directory ${dataDir} is in use by another Warren process (pid ${owner.pid} on ${owner.hostname}, ` +
        `running since ${owner.since}); stop it first (lock file ${lockFile})`,
    )
    this.name = 'DataDirLockedError'
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

/** The start time of a running process, or null if there is no such process (or no /proc). */
export function processStartTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`)
  if (stat === null) return null
  // The command name (field 2) is in parentheses and may itself hold spaces and parentheses
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // A zombie (Z) or dead (X) process has exited: only its parent has not collected it yet
  if (fields[0] === 'Z' || fields[0] === 'X') return null
  return fields[19] ?? null // field 22; fields[0] is field 3
}

const HAS_PROC = readText('/proc/self/stat') !== null
const BOOT_ID = readText('/proc/sys/kernel/random/boot_id')?.trim() ?? null

export function currentOwner(): LockOwner {
  return {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    bootId: BOOT_ID,
    hostname: hostname(),
    since: new Date().toISOString(),
  }
}

/** Whether the process that wrote `owner` is still running. */
export function ownerIsRunning(owner: LockOwner): boolean {
  if (owner.bootId !== null && BOOT_ID !== null && owner.bootId !== BOOT_ID) return false
  if (HAS_PROC) {
    const startTime = processStartTime(owner.pid)
    // Gone, or the pid now belongs to a process started later
    return startTime !== null && (owner.startTime === null || startTime === owner.startTime)
  }
  try {
    process.kill(owner.pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const value = JSON.parse(text) as Partial<LockOwner> | null
    if (typeof value?.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) return null
    return {
      pid: value.pid,
      startTime: typeof value.startTime === 'string' ? value.startTime : null,
      bootId: typeof value.bootId === 'string' ? value.bootId : null,
      hostname: typeof value.hostname === 'string' ? value.hostname : '?',
      since: typeof value.since === 'string' ? value.since : '?',
    }
  } catch {
    return null
  }
}

type LockState =
  | { kind: 'absent' }
  | { kind: 'held'; owner: LockOwner }
  /** Just created by someone who has not written it yet: wait */
  | { kind: 'being-written' }
  | { kind: 'stale'; owner: LockOwner | null }

function inspect(path: string): LockState {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' }
    throw error
  }
  try {
    const owner = parseOwner(readFileSync(fd, 'utf8'))
    if (owner !== null) return ownerIsRunning(owner) ? { kind: 'held', owner } : { kind: 'stale', owner }
    // Unreadable: being written right now (O_EXCL create, then write), or damaged (a crash before the sync)
    const young = Date.now() - fstatSync(fd).mtimeMs < WRITING_GRACE_MS
    return young ? { kind: 'being-written' } : { kind: 'stale', owner: null }
  } finally {
    closeSync(fd)
  }
}

/** Creates `path` with O_EXCL and writes `text` into it, synced; false if it already exists. */
function createExclusive(path: string, text: string): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return true
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4))
function sleep(ms: number): void {
  Atomics.wait(sleepCell, 0, 0, ms)
}

/**
 * Removes the lock file if it is stale, holding the takeover file so that no other broker removes a lock
 * meanwhile. Called after seeing a stale lock, which may have been replaced since by a live one.
 */
export function removeStaleLock(dataDir: string, content: string, log: Logger): void {
  const path = join(dataDir, LOCK_FILE)
  const takeoverPath = join(dataDir, TAKEOVER_FILE)
  if (!createExclusive(takeoverPath, content)) {
    const takeover = inspect(takeoverPath)
    if (takeover.kind === 'stale') {
      // Its holder died in the middle of a takeover (a takeover lasts microseconds)
      log.warn({ file: takeoverPath, pid: takeover.owner?.pid }, 'removing a lock takeover file left by a crash')
      removeIfPresent(takeoverPath)
    } else {
      sleep(RETRY_SLEEP_MS) // another broker is taking over: see what it leaves
    }
    return
  }
  try {
    // Only takeover holders remove a lock file and it is only created when absent, so if it is still
    // stale now, it stays the same file until it is removed here
    const state = inspect(path)
    if (state.kind === 'stale') {
      log.warn(
        { file: path, pid: state.owner?.pid ?? null, since: state.owner?.since ?? null },
        'data directory lock left by a process that is gone; taking it over',
      )
      removeIfPresent(path)
    }
  } finally {
    removeIfPresent(takeoverPath)
  }
}

export class DataDirLock {
  private released = false

  private constructor(
    readonly path: string,
    private readonly content: string,
  ) {}

  /**
   * Takes the lock of `dataDir` (creating the directory if needed), taking over a stale one, or throws
   * DataDirLockedError naming the running owner. Synchronous: it runs once, before anything else at start.
   */
  static acquire(dataDir: string, log: Logger): DataDirLock {
    mkdirSync(dataDir, { recursive: true })
    const path = join(dataDir, LOCK_FILE)
    const content = JSON.stringify(currentOwner()) + '\n'
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (createExclusive(path, content)) {
        syncDirectory(dataDir)
        return new DataDirLock(path, content)
      }
      const state = inspect(path)
      if (state.kind === 'held') throw new DataDirLockedError(dataDir, state.owner, path)
      if (state.kind === 'being-written') sleep(RETRY_SLEEP_MS)
      else if (state.kind === 'stale') removeStaleLock(dataDir, content, log)
    }
    throw new Error(`cannot take the lock of data directory ${dataDir}: ${path} keeps changing`)
  }

  /** Removes the lock file, if it is still this lock's. */
  release(): void {
    if (this.released) return
    this.released = true
    if (readText(this.path) === this.content) removeIfPresent(this.path)
  }
}
