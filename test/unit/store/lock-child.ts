// Child process of the data directory lock test: prints "ready", takes the lock when told "go" on stdin,
// prints what happened, and holds the lock until stdin closes. Does nothing unless the test starts it
// (node --test loads every file of a test directory).
import { pino } from 'pino'
import { DataDirLock, DataDirLockedError } from '../../../src/store/data-dir-lock.js'

const dataDir = process.env.WARREN_LOCK_CHILD
if (dataDir !== undefined) {
  process.stdin.once('data', () => {
    try {
      const lock = DataDirLock.acquire(dataDir, pino({ level: 'silent' }))
      process.stdout.write('locked\n')
      process.stdin.once('end', () => lock.release())
    } catch (error) {
      process.stdout.write(error instanceof DataDirLockedError ? 'refused\n' : `error ${String(error)}\n`)
      process.stdin.once('end', () => {})
    }
  })
  process.stdout.write('ready\n')
}
