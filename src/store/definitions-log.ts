// Durable definitions (vhosts, users, permissions, limits, exchanges, queues, bindings, policies) as an
// append-only log of the changes made
// to them, one checksummed JSON line each, synced before the client hears declare-ok. At start the log is
// replayed into a snapshot of what exists, and rewritten compactly (write a new file, sync, rename).
//
// Definition changes are rare next to messages, so each is written and fdatasync'ed synchronously: a
// millisecond of blocking buys a declare-ok that is only sent once the definition is on disk.
//
// Faults (disk full, I/O error, no descriptor left) are never fatal: a change whose line cannot be written
// throws and is not applied, and what the failed write left is cut off; a compaction that fails keeps the
// old log (so a broker starts on a full disk) and is tried again after later appends.
import * as fs from 'node:fs'
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
  /** The user who declared it; absent for the broker's own (logs written before it was recorded too) */
  declaredBy?: string
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
  /** An operator policy (RabbitMQ's operator_policy parameters); absent for a user policy */
  kind?: 'operator'
}

export interface VhostDefinition {
  name: string
  description: string
  tags: string[]
  /** RabbitMQ 3.11's default queue type of the vhost, if set */
  defaultQueueType?: string
}

export interface UserDefinition {
  name: string
  /** base64 of salt ++ hash, as RabbitMQ exports it */
  passwordHash: string
  hashingAlgorithm: string
  tags: string[]
}

export interface PermissionDefinition {
  user: string
  vhost: string
  configure: string
  write: string
  read: string
}

export interface TopicPermissionDefinition {
  user: string
  vhost: string
  exchange: string
  write: string
  read: string
}

/** A global parameter (cluster_name, internal_cluster_id, any an operator sets): a name and a JSON value */
export interface GlobalParameterDefinition {
  name: string
  value: unknown
}

/** RabbitMQ's limits by name ('max-connections', 'max-queues', 'max-channels'); a negative value is none */
export type LimitsDefinition = Record<string, number>

export type DefinitionChange =
  | { op: 'vhost.add'; vhost: VhostDefinition }
  /** The vhost and everything in it: exchanges, queues, bindings, policies, permissions, limits */
  | { op: 'vhost.remove'; name: string }
  | { op: 'user.add'; user: UserDefinition }
  /** The user with its permissions and limits */
  | { op: 'user.remove'; name: string }
  | { op: 'permission.set'; permission: PermissionDefinition }
  | { op: 'permission.clear'; user: string; vhost: string }
  | { op: 'topic-permission.set'; permission: TopicPermissionDefinition }
  | { op: 'topic-permission.clear'; user: string; vhost: string; exchange: string }
  /** Replaces the vhost's limits; {} clears them */
  | { op: 'vhost-limits.set'; vhost: string; limits: LimitsDefinition }
  | { op: 'user-limits.set'; user: string; limits: LimitsDefinition }
  | { op: 'exchange.add'; exchange: ExchangeDefinition }
  | { op: 'exchange.remove'; vhost: string; name: string }
  | { op: 'queue.add'; queue: QueueDefinition }
  | { op: 'queue.remove'; vhost: string; name: string }
  | { op: 'binding.add'; binding: BindingDefinition }
  | { op: 'binding.remove'; binding: BindingDefinition }
  | { op: 'policy.add'; policy: PolicyDefinition }
  | { op: 'policy.remove'; vhost: string; name: string; kind?: 'operator' }
  | { op: 'global-parameter.set'; parameter: GlobalParameterDefinition }
  | { op: 'global-parameter.clear'; name: string }

export interface Definitions {
  exchanges: ExchangeDefinition[]
  queues: QueueDefinition[]
  bindings: BindingDefinition[]
  policies: PolicyDefinition[]
}

/** Virtual hosts, users and what they may do: restored before the entities inside the vhosts */
export interface TenancyDefinitions {
  vhosts: VhostDefinition[]
  users: UserDefinition[]
  permissions: PermissionDefinition[]
  topicPermissions: TopicPermissionDefinition[]
  vhostLimits: { vhost: string; limits: LimitsDefinition }[]
  userLimits: { user: string; limits: LimitsDefinition }[]
  globalParameters: GlobalParameterDefinition[]
}

/** What the log holds at start, and what replaying it found out besides */
export interface StoredDefinitions extends Definitions, TenancyDefinitions {
  /** Vhosts whose deletion is the last change the log holds about them (their queue stores may remain) */
  removedVhosts: string[]
  /** Queues whose deletion is the last change the log holds about them */
  removedQueues: { vhost: string; name: string }[]
  /** Lines skipped because they were damaged (a torn last line not counted) */
  damagedLines: number
}

const FILE = 'definitions.log'
const bindingKey = (b: BindingDefinition) =>
  JSON.stringify([b.vhost, b.source, b.destinationType, b.destination, b.routingKey, b.arguments])
const entityKey = (vhost: string, name: string) => JSON.stringify([vhost, name])
/** A user policy and an operator policy may share a name */
const policyKey = (vhost: string, name: string, kind: 'operator' | undefined) =>
  kind === undefined ? entityKey(vhost, name) : JSON.stringify([vhost, name, kind])

/** The live definitions, kept up to date as changes are logged, for compaction. */
class Snapshot {
  readonly exchanges = new Map<string, ExchangeDefinition>()
  readonly queues = new Map<string, QueueDefinition>()
  readonly bindings = new Map<string, BindingDefinition>()
  readonly policies = new Map<string, PolicyDefinition>()
  readonly vhosts = new Map<string, VhostDefinition>()
  readonly users = new Map<string, UserDefinition>()
  readonly permissions = new Map<string, PermissionDefinition>()
  readonly topicPermissions = new Map<string, TopicPermissionDefinition>()
  readonly vhostLimits = new Map<string, LimitsDefinition>()
  readonly userLimits = new Map<string, LimitsDefinition>()
  readonly globalParameters = new Map<string, GlobalParameterDefinition>()

  apply(c: DefinitionChange): void {
    switch (c.op) {
      case 'vhost.add':
        return void this.vhosts.set(c.vhost.name, c.vhost)
      case 'vhost.remove':
        this.vhosts.delete(c.name)
        this.vhostLimits.delete(c.name)
        for (const map of [this.exchanges, this.queues, this.bindings, this.policies, this.permissions]) {
          for (const [k, d] of map) if (d.vhost === c.name) map.delete(k)
        }
        for (const [k, d] of this.topicPermissions) if (d.vhost === c.name) this.topicPermissions.delete(k)
        return
      case 'user.add':
        return void this.users.set(c.user.name, c.user)
      case 'user.remove':
        this.users.delete(c.name)
        this.userLimits.delete(c.name)
        for (const [k, p] of this.permissions) if (p.user === c.name) this.permissions.delete(k)
        for (const [k, p] of this.topicPermissions) if (p.user === c.name) this.topicPermissions.delete(k)
        return
      case 'permission.set':
        return void this.permissions.set(entityKey(c.permission.user, c.permission.vhost), c.permission)
      case 'permission.clear':
        return void this.permissions.delete(entityKey(c.user, c.vhost))
      case 'topic-permission.set': {
        const p = c.permission
        return void this.topicPermissions.set(JSON.stringify([p.user, p.vhost, p.exchange]), p)
      }
      case 'topic-permission.clear':
        return void this.topicPermissions.delete(JSON.stringify([c.user, c.vhost, c.exchange]))
      case 'vhost-limits.set':
        if (Object.keys(c.limits).length === 0) this.vhostLimits.delete(c.vhost)
        else this.vhostLimits.set(c.vhost, c.limits)
        return
      case 'user-limits.set':
        if (Object.keys(c.limits).length === 0) this.userLimits.delete(c.user)
        else this.userLimits.set(c.user, c.limits)
        return
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
        return void this.policies.set(policyKey(c.policy.vhost, c.policy.name, c.policy.kind), c.policy)
      case 'policy.remove':
        return void this.policies.delete(policyKey(c.vhost, c.name, c.kind))
      case 'global-parameter.set':
        return void this.globalParameters.set(c.parameter.name, c.parameter)
      case 'global-parameter.clear':
        return void this.globalParameters.delete(c.name)
    }
  }

  get size(): number {
    return (
      this.exchanges.size +
      this.queues.size +
      this.bindings.size +
      this.policies.size +
      this.vhosts.size +
      this.users.size +
      this.permissions.size +
      this.topicPermissions.size +
      this.vhostLimits.size +
      this.userLimits.size +
      this.globalParameters.size
    )
  }

  /** Vhosts and users first: replaying the compacted log makes them before what refers to them */
  changes(): DefinitionChange[] {
    return [
      ...[...this.vhosts.values()].map((vhost) => ({ op: 'vhost.add' as const, vhost })),
      ...[...this.users.values()].map((user) => ({ op: 'user.add' as const, user })),
      ...[...this.permissions.values()].map((permission) => ({ op: 'permission.set' as const, permission })),
      ...[...this.topicPermissions.values()].map((permission) => ({
        op: 'topic-permission.set' as const,
        permission,
      })),
      ...[...this.vhostLimits].map(([vhost, limits]) => ({ op: 'vhost-limits.set' as const, vhost, limits })),
      ...[...this.userLimits].map(([user, limits]) => ({ op: 'user-limits.set' as const, user, limits })),
      ...[...this.globalParameters.values()].map((parameter) => ({ op: 'global-parameter.set' as const, parameter })),
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

/** The synchronous file operations of the definitions log (tests make them fail). */
export interface DefinitionsFileSystem {
  /** The whole file, or undefined if it does not exist. */
  readFile(path: string): Buffer | undefined
  open(path: string, flags: 'a' | 'w' | 'r'): number
  /** Writes from `offset` to the end of `bytes`; returns how many bytes were written (maybe fewer). */
  write(fd: number, bytes: Buffer, offset: number): number
  datasync(fd: number): void
  sync(fd: number): void
  truncate(fd: number, length: number): void
  rename(from: string, to: string): void
  unlink(path: string): void
  close(fd: number): void
}

export const nodeDefinitionsFileSystem: DefinitionsFileSystem = {
  readFile(path) {
    try {
      return fs.readFileSync(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  },
  open: (path, flags) => fs.openSync(path, flags),
  write: (fd, bytes, offset) => fs.writeSync(fd, bytes, offset),
  datasync: (fd) => fs.fdatasyncSync(fd),
  sync: (fd) => fs.fsyncSync(fd),
  truncate: (fd, length) => fs.ftruncateSync(fd, length),
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (path) => fs.unlinkSync(path),
  close: (fd) => fs.closeSync(fd),
}

const NEWLINE = 0x0a

export class DefinitionsLog {
  private readonly path: string
  /** The log's descriptor, opened for appending; -1 until it is (re)opened by the next append */
  private fd = -1
  private readonly snapshot = new Snapshot()
  private lines = 0
  /** The log's length up to the end of its last good line, synced: what a failed append is cut back to */
  private goodLength = 0
  /** Bytes past goodLength may be in the file (a torn line, a write or sync that failed): cut them first */
  private tailDirty = false
  /** The log's last line is complete but lacks its newline: the next append starts with one */
  private needsNewline = false
  /** The log was just renamed into place: its directory must be synced before anything is appended */
  private directorySyncPending = false
  /** A compaction failed (disk full): it is tried again after each append until it succeeds */
  private compactionPending = false
  /** Appends are failing: logged once when it starts and once when it ends */
  private failingSince = 0

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly fileSystem: DefinitionsFileSystem = nodeDefinitionsFileSystem,
  ) {
    this.path = join(dataDir, FILE)
  }

  /**
   * Reads the log (skipping damaged lines, with a warning), compacts it, and returns what it defines. A
   * compaction that fails (disk full) is not fatal: the log is kept as it is, and compacted later.
   */
  open(): StoredDefinitions {
    const removedQueues = new Map<string, { vhost: string; name: string }>()
    const removedVhosts = new Set<string>()
    let damagedLines = 0
    const bytes = this.fileSystem.readFile(this.path)
    if (bytes) {
      const rows = bytes.toString('utf8').split('\n')
      rows.forEach((row, i) => {
        if (row === '') return
        const change = this.parse(row)
        if (change) {
          this.snapshot.apply(change)
          this.lines++
          if (change.op === 'queue.remove') {
            removedQueues.set(entityKey(change.vhost, change.name), { vhost: change.vhost, name: change.name })
          } else if (change.op === 'queue.add') {
            removedQueues.delete(entityKey(change.queue.vhost, change.queue.name))
          } else if (change.op === 'vhost.remove') removedVhosts.add(change.name)
          else if (change.op === 'vhost.add') removedVhosts.delete(change.vhost.name)
        } else if (i === rows.length - 1) {
          this.log.warn({ file: this.path }, 'definitions log: dropped a torn last line')
        } else {
          damagedLines++
          this.log.warn({ file: this.path, line: i + 1 }, 'definitions log: skipped a damaged line')
        }
      })
      // Should the log be kept as it is, appends go after its last complete line: a torn one is cut off,
      // a complete one that lacks its newline gets it first
      const last = rows[rows.length - 1]!
      const lastLineStart = bytes.lastIndexOf(NEWLINE) + 1
      if (last !== '' && !this.parse(last)) this.goodLength = lastLineStart
      else this.goodLength = bytes.length
      this.tailDirty = this.goodLength < bytes.length
      this.needsNewline = this.goodLength > 0 && bytes[this.goodLength - 1] !== NEWLINE
    }
    if (!this.compact()) {
      try {
        this.openForAppend()
      } catch (error) {
        // Tried again by the next append
        this.log.warn({ file: this.path, err: error }, 'definitions log: cannot open it for appending')
      }
    }
    return {
      exchanges: [...this.snapshot.exchanges.values()],
      queues: [...this.snapshot.queues.values()],
      bindings: [...this.snapshot.bindings.values()],
      policies: [...this.snapshot.policies.values()],
      vhosts: [...this.snapshot.vhosts.values()],
      users: [...this.snapshot.users.values()],
      permissions: [...this.snapshot.permissions.values()],
      topicPermissions: [...this.snapshot.topicPermissions.values()],
      vhostLimits: [...this.snapshot.vhostLimits].map(([vhost, limits]) => ({ vhost, limits })),
      userLimits: [...this.snapshot.userLimits].map(([user, limits]) => ({ user, limits })),
      globalParameters: [...this.snapshot.globalParameters.values()],
      removedQueues: [...removedQueues.values()],
      removedVhosts: [...removedVhosts],
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

  /**
   * Appends and syncs one change, then applies it to the snapshot. If it cannot be written (disk full, I/O
   * error, no descriptor left), it throws the errno error and nothing changed: the change is not applied,
   * and whatever the failed write left in the file is cut off. The next append tries again from scratch.
   */
  record(change: DefinitionChange): void {
    const bytes = Buffer.from((this.needsNewline ? '\n' : '') + line(change))
    try {
      this.openForAppend()
      this.tailDirty = true
      this.writeAll(this.fd, bytes)
      this.fileSystem.datasync(this.fd)
    } catch (error) {
      this.discardTail()
      if (this.failingSince === 0) {
        this.failingSince = Date.now()
        this.log.error(
          { file: this.path, err: error },
          'definitions log write failed; durable declarations and deletions are refused until a write succeeds',
        )
      }
      throw error
    }
    this.tailDirty = false
    this.goodLength += bytes.length
    this.needsNewline = false
    this.snapshot.apply(change)
    if (this.failingSince !== 0) {
      this.log.info({ file: this.path, failedMs: Date.now() - this.failingSince }, 'definitions log writes resumed')
      this.failingSince = 0
    }
    if (++this.lines > 2 * this.snapshot.size + 1000 || this.compactionPending) this.compact()
  }

  /** Opens the log for appending if it is not, after cutting off what a failed write left and syncing a rename. */
  private openForAppend(): void {
    if (this.fd < 0) this.fd = this.fileSystem.open(this.path, 'a')
    if (this.tailDirty) {
      this.fileSystem.truncate(this.fd, this.goodLength)
      this.tailDirty = false
    }
    if (this.directorySyncPending) {
      this.syncDirectory()
      this.directorySyncPending = false
    }
  }

  /** Cuts a failed append off the log; if even that fails, the next append does it first. */
  private discardTail(): void {
    if (this.fd < 0) return
    try {
      this.fileSystem.truncate(this.fd, this.goodLength)
      this.tailDirty = false
    } catch {
      this.tailDirty = true
    }
  }

  private writeAll(fd: number, bytes: Buffer): void {
    let offset = 0
    while (offset < bytes.length) {
      const written = this.fileSystem.write(fd, bytes, offset)
      if (written <= 0) throw new Error('write made no progress')
      offset += written
    }
  }

  private syncDirectory(): void {
    const dir = this.fileSystem.open(this.dataDir, 'r')
    try {
      this.fileSystem.sync(dir)
    } finally {
      this.fileSystem.close(dir)
    }
  }

  /**
   * Rewrites the log as the current snapshot: a new file, synced, renamed over the old one. Returns false
   * if that failed (disk full): the old log is kept as it was, and the next append tries again.
   */
  private compact(): boolean {
    const tmp = `${this.path}.tmp`
    const changes = this.snapshot.changes()
    const content = Buffer.from(changes.map(line).join(''))
    let fd = -1
    try {
      fd = this.fileSystem.open(tmp, 'w')
      this.writeAll(fd, content)
      this.fileSystem.sync(fd)
      const written = fd
      fd = -1
      this.fileSystem.close(written)
      this.fileSystem.rename(tmp, this.path)
    } catch (error) {
      if (fd >= 0) this.closeQuietly(fd)
      // What was written of it may be what fills the disk
      try {
        this.fileSystem.unlink(tmp)
      } catch {
        // It may not exist; a leftover is overwritten by the next compaction anyway
      }
      if (!this.compactionPending) {
        this.log.warn(
          { file: this.path, err: error },
          'definitions log: compaction failed; the log is kept as it is and compacted later',
        )
      }
      this.compactionPending = true
      return false
    }
    if (this.compactionPending) this.log.info({ file: this.path }, 'definitions log: compacted after earlier failures')
    this.compactionPending = false
    // The path now names the new file: the old descriptor would append to the replaced one
    if (this.fd >= 0) this.closeQuietly(this.fd)
    this.fd = -1
    this.goodLength = content.length
    this.tailDirty = false
    this.needsNewline = false
    this.lines = changes.length
    this.directorySyncPending = true
    try {
      this.openForAppend()
    } catch (error) {
      // Tried again by the next append, before it writes anything
      this.log.warn({ file: this.path, err: error }, 'definitions log: cannot reopen it after compaction')
    }
    return true
  }

  private closeQuietly(fd: number): void {
    try {
      this.fileSystem.close(fd)
    } catch {
      // Linux releases the descriptor whatever close reports
    }
  }

  close(): void {
    if (this.fd >= 0) this.closeQuietly(this.fd)
    this.fd = -1
  }
}
