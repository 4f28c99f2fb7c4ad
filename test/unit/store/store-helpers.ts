// Shared pieces of the message store tests: temporary data directories, a logger that keeps its lines,
// messages to store, and a file system wrapper that counts syncs or fails on demand.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { nodeFileSystem, type StoreFileSystem } from '../../../src/store/file-io.js'
import type { StoredMessage } from '../../../src/store/record.js'
import type { Logger } from '../../../src/util/logger.js'

export interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

export interface CapturingLogger {
  log: Logger
  lines: LogLine[]
  /** Lines at warn level (40) or above */
  warnings(): LogLine[]
}

export function capturingLogger(): CapturingLogger {
  const lines: LogLine[] = []
  const log = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as LogLine) })
  return { log, lines, warnings: () => lines.filter((line) => line.level >= 40) }
}

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-store-'))
  try {
    return await run(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export function message(index: number, bodyBytes = 20): StoredMessage {
  const body = Buffer.alloc(bodyBytes, index % 251)
  body.write(`message ${index}`.slice(0, bodyBytes))
  return {
    exchange: index % 2 === 0 ? 'amq.direct' : '',
    routingKey: `key.${index}`,
    propertiesRaw: Buffer.from([0x10, 0x00, 0x02]),
    body,
  }
}

/** Compares stored messages by content (buffers by bytes). */
export function plain(stored: StoredMessage): { exchange: string; routingKey: string; props: string; body: string } {
  return {
    exchange: stored.exchange,
    routingKey: stored.routingKey,
    props: stored.propertiesRaw.toString('hex'),
    body: stored.body.toString('hex'),
  }
}

export async function filesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort()
}

export interface CountingFileSystem extends StoreFileSystem {
  datasyncs: number[]
  writes: number
  /** When set, the next appendAll rejects with this error */
  failNextWrite: Error | null
}

export function countingFileSystem(): CountingFileSystem {
  const counting: CountingFileSystem = {
    ...nodeFileSystem,
    datasyncs: [],
    writes: 0,
    failNextWrite: null,
    async appendAll(fd, buffers, position) {
      counting.writes++
      const failure = counting.failNextWrite
      if (failure !== null) {
        counting.failNextWrite = null
        throw failure
      }
      return nodeFileSystem.appendAll(fd, buffers, position)
    },
    async datasync(fd) {
      counting.datasyncs.push(fd)
      return nodeFileSystem.datasync(fd)
    },
  }
  return counting
}
