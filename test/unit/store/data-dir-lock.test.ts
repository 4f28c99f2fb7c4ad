// The data directory lock on its own: who holds it, when a lock file is stale (its process is gone, its
// pid belongs to another process now, it cannot be read), and that of several processes racing for a
// stale lock exactly one wins.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import {
  DataDirLock,
  DataDirLockedError,
  LOCK_FILE,
  currentOwner,
  ownerIsRunning,
  processStartTime,
  removeStaleLock,
} from '../../../src/store/data-dir-lock.js'
import { capturingLogger, withTempDir } from './store-helpers.js'

const child = fileURLToPath(new URL('./lock-child.js', import.meta.url))

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const exited = spawn(process.execPath, ['-e', '0'])
  await new Promise((resolve) => exited.once('exit', resolve))
  return exited.pid!
}

test('the lock names its owner; a second acquire refuses with the directory and pid; release frees it', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const lock = DataDirLock.acquire(dir, log)
    const written = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))
    assert.equal(written.pid, process.pid)
    assert.equal(written.startTime, processStartTime(process.pid))
    assert.throws(
      () => DataDirLock.acquire(dir, log),
      (error: Error) =>
        error instanceof DataDirLockedError &&
        error.message.includes(dir) &&
        error.message.includes(`pid ${process.pid}`),
    )
    lock.release()
    assert.deepEqual(await readdir(dir), [])
    DataDirLock.acquire(dir, log).release()
  })
})

test('a lock whose process is gone, or whose pid now runs another process, is taken over with a warning', async () => {
  await withTempDir(async (dir) => {
    const stale = [
      { ...currentOwner(), pid: await deadPid() },
      // Our own pid, but started at another time: the pid was reused
      { ...currentOwner(), startTime: '1' },
      // Another boot
      { ...currentOwner(), bootId: 'another-boot' },
    ]
    assert.ok(ownerIsRunning(currentOwner()))
    for (const owner of stale) {
      assert.equal(ownerIsRunning(owner), false, JSON.stringify(owner))
      await writeFile(join(dir, LOCK_FILE), JSON.stringify(owner))
      const logger = capturingLogger()
      const lock = DataDirLock.acquire(dir, logger.log)
      assert.equal(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid, process.pid)
      assert.equal(logger.warnings().length, 1)
      assert.equal(logger.warnings()[0]!.pid, owner.pid)
      lock.release()
    }
  })
})

test('a lock whose process has exited but not been collected by its parent (a zombie) is stale', async () => {
  // perl forks a child that exits at once and never collects it (no SIGCHLD handler, no wait). A shell
  // (`sleep 0 & exec sleep 1`) raced: dash may reap the child before its exec, and the zombie was gone.
  const parent = spawn('perl', ['-e', '$| = 1; my $pid = fork(); exit 0 unless $pid; print "$pid\\n"; sleep 30'])
  try {
    const pid = Number(
      await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(String(d)))),
    )
    let stat = ''
    for (let i = 0; i < 200 && !/\) Z /.test(stat); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5))
      stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    }
    assert.match(stat, /\) Z /, 'the forked child is a zombie')
    const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!
    assert.equal(ownerIsRunning({ ...currentOwner(), pid, startTime }), false)
  } finally {
    parent.kill()
  }
})

test('an unreadable lock file is waited for while young (being written), taken over once old', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    const path = join(dir, LOCK_FILE)
    await writeFile(path, '')
    const old = new Date(Date.now() - 60_000)
    await utimes(path, old, old)
    DataDirLock.acquire(dir, log).release()

    // Filled in by its creator 50 ms later: the acquire waits for it and then refuses
    await writeFile(path, '')
    const filler = spawn(process.execPath, [
      '-e',
      `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(path)}, ${JSON.stringify(
        JSON.stringify(currentOwner()),
      )}), 50)`,
    ])
    await new Promise((resolve) => filler.once('spawn', resolve))
    assert.throws(() => DataDirLock.acquire(dir, log), DataDirLockedError)
    await new Promise((resolve) => filler.once('exit', resolve))
  })
})

test('a late taker that saw the stale lock does not remove the lock taken over meanwhile', async () => {
  await withTempDir(async (dir) => {
    const { log } = capturingLogger()
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ ...currentOwner(), pid: await deadPid() }))
    // Broker A takes the stale lock over; broker B had seen it stale too and now tries to remove it
    const lock = DataDirLock.acquire(dir, log)
    const content = await readFile(join(dir, LOCK_FILE), 'utf8')
    removeStaleLock(dir, JSON.stringify({ ...currentOwner(), pid: 1 }), log)
    assert.equal(await readFile(join(dir, LOCK_FILE), 'utf8'), content)
    assert.throws(() => DataDirLock.acquire(dir, log), DataDirLockedError)
    lock.release()
  })
})

test('a takeover file left by a process that died during a takeover is removed', async () => {
  await withTempDir(async (dir) => {
    const logger = capturingLogger()
    const dead = { ...currentOwner(), pid: await deadPid() }
    await writeFile(join(dir, LOCK_FILE), JSON.stringify(dead))
    await writeFile(join(dir, 'warren.lock.takeover'), JSON.stringify(dead))
    const lock = DataDirLock.acquire(dir, logger.log)
    assert.deepEqual(await readdir(dir), [LOCK_FILE])
    assert.equal(logger.warnings().length, 2)
    lock.release()
  })
})

test('processes racing for a stale lock: exactly one takes it', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ ...currentOwner(), pid: await deadPid() }))
    const racers = Array.from({ length: 6 }, () => {
      const racer = spawn(process.execPath, [child], { env: { ...process.env, WARREN_LOCK_CHILD: dir } })
      const lines: string[] = []
      let waiting: (() => void) | undefined
      racer.stdout.on('data', (chunk: Buffer) => {
        lines.push(...chunk.toString().trim().split('\n'))
        waiting?.()
      })
      const line = (n: number) =>
        new Promise<string>((resolve) => {
          waiting = () => lines.length > n && resolve(lines[n]!)
          waiting()
        })
      const closed = new Promise((resolve) => racer.once('close', resolve))
      return { racer, line, closed }
    })
    // All started, then all told to go at once
    await Promise.all(racers.map(({ line }) => line(0)))
    for (const { racer } of racers) racer.stdin.write('go\n')
    const results = await Promise.all(racers.map(({ line }) => line(1)))
    for (const { racer } of racers) racer.stdin.end()
    await Promise.all(racers.map(({ closed }) => closed))
    assert.equal(results.filter((r) => r === 'locked').length, 1, results.join(', '))
    assert.equal(results.filter((r) => r === 'refused').length, 5, results.join(', '))
    assert.deepEqual(await readdir(dir), [], 'the winner released the lock; no takeover file is left')
  })
})
