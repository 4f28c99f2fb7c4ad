// Durable definitions (exchanges, queues, bindings, policies) as an append-only log of the changes made
// to them, one checksummed JSON line each, synced before the client hears declare-ok. At start the log is
// replayed into a snapshot of what exists, and rewritten compactly (write a new file, sync, rename).
//
// Definition changes are rare next to messages, so each is written and fdatasync'ed synchronously: a
// millisecond of blocking buys a declare-ok that is only sent once the definition is on disk.
import { closeSync, existsSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import type { Logger } from '../util/logger.js'

export interface ExchangeDefinition {
  vhost: string
  name: string
  type: string
  durable: boolean
  autoDelete: boolean
  internal: boolean
  /** The arguments table in AMQP wire encoding, base64: lossless for every field type */
  arguments: string
}

export interface QueueDefinition {
  vhost: string
  name: string
  durable: boolean
  autoDelete: boolean
  arguments: string
}

export interface BindingDefinition {
  vhost: string
  source: string
  destination: string
  destinationType: 'queue' | 'exchange'
  routingKey: string
  arguments: string
}

export interface PolicyDefinition {
  vhost: string
  name: string
  pattern: string
  applyTo: 'queues' | 'exchanges' | 'all'
  priority: number
  /** The policy's keys and values, as JSON (strings and numbers) */
  definition: Record<string, string | number | boolean>
}

export type DefinitionChange =
  | { op: 'exchange.add'; exchange: ExchangeDefinition }
  | { op: 'exchange.remove'; vhost: string; name: string }
  | { op: 'queue.add'; queue: QueueDefinition }
  | { op: 'queue.remove'; vhost: string; name: string }
  | { op: 'binding.add'; binding: BindingDefinition }
  | { op: 'binding.remove'; binding: BindingDefinition }
  | { op: 'policy.add'; policy: PolicyDefinition }
  | { op: 'policy.remove'; vhost: string; name: string }

export interface Definitions {
  exchanges: ExchangeDefinition[]
  queues: QueueDefinition[]
  bindings: BindingDefinition[]
  policies: PolicyDefinition[]
}

/** What the log holds at start, and what replaying it found out besides */
export interface StoredDefinitions extends Definitions {
  /** Queues whose deletion is the last change the log holds about them */
  removedQueues: { vhost: string; name: string }[]
  /** Lines skipped because they were damaged (a torn last line not counted) */
  damagedLines: number
}

const FILE = 'definitions.log'
const bindingKey = (b: BindingDefinition) =>
  JSON.stringify([b.vhost, b.source, b.destinationType, b.destination, b.routingKey, b.arguments])
const entityKey = (vhost: string, name: string) => JSON.stringify([vhost, name])

/** The live definitions, kept up to date as changes are logged, for compaction. */
class Snapshot {
  readonly exchanges = new Map<string, ExchangeDefinition>()
  readonly queues = new Map<string, QueueDefinition>()
  readonly bindings = new Map<string, BindingDefinition>()
  readonly policies = new Map<string, PolicyDefinition>()

  apply(c: DefinitionChange): void {
    switch (c.op) {
      case 'exchange.add':
        return void this.exchanges.set(entityKey(c.exchange.vhost, c.exchange.name), c.exchange)
      case 'exchange.remove':
        this.exchanges.delete(entityKey(c.vhost, c.name))
        for (const [k, b] of this.bindings) {
          const linked = b.source === c.name || (b.destinationType === 'exchange' && b.destination === c.name)
          if (b.vhost === c.vhost && linked) this.bindings.delete(k)
        }
        return
      case 'queue.add':
        return void this.queues.set(entityKey(c.queue.vhost, c.queue.name), c.queue)
      case 'queue.remove':
        this.queues.delete(entityKey(c.vhost, c.name))
        for (const [k, b] of this.bindings) {
          if (b.vhost === c.vhost && b.destinationType === 'queue' && b.destination === c.name) this.bindings.delete(k)
        }
        return
      case 'binding.add':
        return void this.bindings.set(bindingKey(c.binding), c.binding)
      case 'binding.remove':
        return void this.bindings.delete(bindingKey(c.binding))
      case 'policy.add':
        return void this.policies.set(entityKey(c.policy.vhost, c.policy.name), c.policy)
      case 'policy.remove':
        return void this.policies.delete(entityKey(c.vhost, c.name))
    }
  }

  get size(): number {
    return this.exchanges.size + this.queues.size + this.bindings.size + this.policies.size
  }

  changes(): DefinitionChange[] {
    return [
      ...[...this.exchanges.values()].map((exchange) => ({ op: 'exchange.add' as const, exchange })),
      ...[...this.queues.values()].map((queue) => ({ op: 'queue.add' as const, queue })),
      ...[...this.bindings.values()].map((binding) => ({ op: 'binding.add' as const, binding })),
      ...[...this.policies.values()].map((policy) => ({ op: 'policy.add' as const, policy })),
    ]
  }
}

function line(change: DefinitionChange): string {
  const json = JSON.stringify(change)
  return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`
}

export class DefinitionsLog {
  private fd = -1
  private readonly snapshot = new Snapshot()
  private lines = 0

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  /** Reads the log (skipping damaged lines, with a warning), compacts it, and returns what it defines. */
  open(): StoredDefinitions {
    const path = join(this.dataDir, FILE)
    const removedQueues = new Map<string, { vhost: string; name: string }>()
    let damagedLines = 0
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8')
      const rows = text.split('\n')
      rows.forEach((row, i) => {
        if (row === '') return
        const change = this.parse(row)
        if (change) {
          this.snapshot.apply(change)
          if (change.op === 'queue.remove') {
            removedQueues.set(entityKey(change.vhost, change.name), { vhost: change.vhost, name: change.name })
          } else if (change.op === 'queue.add') {
            removedQueues.delete(entityKey(change.queue.vhost, change.queue.name))
          }
        } else if (i === rows.length - 1) {
          this.log.warn({ file: path }, 'definitions log: dropped a torn last line')
        } else {
          damagedLines++
          this.log.warn({ file: path, line: i + 1 }, 'definitions log: skipped a damaged line')
        }
      })
    }
    this.compact()
    return {
      exchanges: [...this.snapshot.exchanges.values()],
      queues: [...this.snapshot.queues.values()],
      bindings: [...this.snapshot.bindings.values()],
      policies: [...this.snapshot.policies.values()],
      removedQueues: [...removedQueues.values()],
      damagedLines,
    }
  }

  private parse(row: string): DefinitionChange | undefined {
    const space = row.indexOf(' ')
    if (space !== 8) return undefined
    const json = row.slice(9)
    if (crc32(json).toString(16).padStart(8, '0') !== row.slice(0, 8)) return undefined
    try {
      return JSON.parse(json) as DefinitionChange
    } catch {
      return undefined
    }
  }

  /** Appends and syncs one change. */
  record(change: DefinitionChange): void {
    this.snapshot.apply(change)
    writeSync(this.fd, line(change))
    fdatasyncSync(this.fd)
    if (++this.lines > 2 * this.snapshot.size + 1000) this.compact()
  }

  /** Rewrites the log as the current snapshot: a new file, synced, renamed over the old one. */
  private compact(): void {
    const path = join(this.dataDir, FILE)
    const tmp = `${path}.tmp`
    const changes = this.snapshot.changes()
    const fd = openSync(tmp, 'w')
    writeSync(fd, changes.map(line).join(''))
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, path)
    const dir = openSync(this.dataDir, 'r')
    fsyncSync(dir)
    closeSync(dir)
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = openSync(path, 'a')
    this.lines = changes.length
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}
