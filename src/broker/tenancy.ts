// Virtual hosts, users, permissions and limits changed at run time, as RabbitMQ's rabbitmqctl, management
// API and definitions import change them: one set of operations, each logged to the definitions log before
// it is made (so a change that cannot be written is refused and not made), none written in memory mode.
import { randomBytes } from 'node:crypto'
import type { Permission, Permissions, TopicPermission } from '../auth/permissions.js'
import { DEFAULT_HASHING_ALGORITHM, hashPassword, isHashingAlgorithm, type HashingAlgorithm } from '../auth/password.js'
import type { User, UserStore } from '../auth/users.js'
import type { Config } from '../config/config.js'
import { connectionForced } from '../protocol/errors.js'
import type { DefinitionChange, LimitsDefinition, StoredDefinitions } from '../store/definitions-log.js'
import type { Logger } from '../util/logger.js'
import { USER_LIMITS, VHOST_LIMITS, validateLimits, type Limits, type OpenConnection } from './limits.js'
import type { Vhost, VhostMetadata } from './vhost.js'
import type { BrokerCounters } from './stats.js'

/** What the tenancy operations change: the broker (broker.ts) */
export interface TenancyHost {
  readonly config: Config
  readonly log: Logger
  readonly users: UserStore
  readonly permissions: Permissions
  readonly limits: Limits
  readonly vhosts: Map<string, Vhost>
  /** Keeps the message counts of deleted vhosts */
  readonly stats: BrokerCounters
  /** A new vhost with the broker's persistence (not registered yet) */
  makeVhost(name: string, metadata: VhostMetadata): Vhost
  /** Removes whatever queue stores of a deleted vhost remain */
  removeQueueStores(vhost: string): Promise<void>
}

export interface VhostOptions {
  description?: string
  tags?: string[]
  defaultQueueType?: string
}

/** A password in clear (hashed here), or a hash as RabbitMQ exports it; neither: the user has no password */
export interface UserOptions {
  password?: string
  passwordHash?: string
  hashingAlgorithm?: HashingAlgorithm
  tags?: string[]
}

/** RabbitMQ's "full access" permission, which a fresh node gives its default user on its default vhost */
export const FULL_ACCESS: Permission = { configure: '.*', write: '.*', read: '.*' }

function checkPattern(pattern: string, what: string): void {
  try {
    new RegExp(pattern)
  } catch {
    throw new Error(`invalid ${what} permission pattern '${pattern}'`)
  }
}

/** RabbitMQ's own id of a cluster, drawn once and kept: 'rabbitmq-cluster-id-' and 22 characters of base64url */
const newClusterId = (): string => `rabbitmq-cluster-id-${randomBytes(16).toString('base64url')}`

export class Tenancy {
  /**
   * The global parameters (RabbitMQ's runtime parameters of no vhost): cluster_name, internal_cluster_id and
   * any an operator sets, stored in the definitions log like the rest
   */
  readonly globalParameters = new Map<string, unknown>()

  constructor(
    private readonly host: TenancyHost,
    /** Logs a change (throws if it cannot be written); does nothing in memory mode */
    private readonly record: (change: DefinitionChange) => void,
  ) {}

  /**
   * A fresh broker: RABBITMQ_DEFAULT_VHOST, RABBITMQ_DEFAULT_USER with the administrator tag and full access
   * to it, as RabbitMQ makes them on a fresh node. `named`: vhosts a log written before vhosts were logged
   * names; they are made too, with the same access for the default user.
   */
  createDefaults(named: string[]): void {
    const { defaultVhost, defaultUser, defaultPass } = this.host.config
    const names = [...new Set([defaultVhost, ...named])]
    for (const name of names) {
      this.createVhost(name, name === defaultVhost ? { description: 'Default virtual host' } : {})
    }
    this.putUser(defaultUser, { password: defaultPass, tags: ['administrator'] })
    for (const name of names) this.setPermission(defaultUser, name, FULL_ACCESS)
    this.setGlobalParameter('internal_cluster_id', newClusterId())
  }

  /** Recreates what the log holds, without logging it again: before the entities inside the vhosts */
  restore(stored: StoredDefinitions): void {
    const { host } = this
    for (const u of stored.users) {
      if (!isHashingAlgorithm(u.hashingAlgorithm)) {
        host.log.warn({ user: u.name, algorithm: u.hashingAlgorithm }, 'stored user with an unknown hashing skipped')
        continue
      }
      host.users.addHashed(u.name, u.passwordHash, u.hashingAlgorithm, u.tags)
    }
    for (const v of stored.vhosts) {
      const metadata: VhostMetadata = { description: v.description, tags: v.tags }
      if (v.defaultQueueType !== undefined) metadata.defaultQueueType = v.defaultQueueType
      host.vhosts.set(v.name, host.makeVhost(v.name, metadata))
    }
    for (const { user, vhost, configure, write, read } of stored.permissions) {
      host.permissions.set(user, vhost, { configure, write, read })
    }
    for (const { user, vhost, exchange, write, read } of stored.topicPermissions) {
      host.permissions.setTopic(user, vhost, { exchange, write, read })
    }
    for (const l of stored.vhostLimits) host.limits.setVhost(l.vhost, l.limits)
    for (const l of stored.userLimits) host.limits.setUser(l.user, l.limits)
    for (const p of stored.globalParameters) this.globalParameters.set(p.name, p.value)
    // A log written before global parameters were stored: the id is drawn now, and kept from now on
    if (!this.globalParameters.has('internal_cluster_id'))
      this.setGlobalParameter('internal_cluster_id', newClusterId())
  }

  /** Sets a global parameter (any JSON value), stored before it is set */
  setGlobalParameter(name: string, value: unknown): void {
    if (name === '') throw new Error('a global parameter needs a name')
    this.record({ op: 'global-parameter.set', parameter: { name, value } })
    this.globalParameters.set(name, value)
  }

  /** Removes a global parameter; false if there was none */
  clearGlobalParameter(name: string): boolean {
    if (!this.globalParameters.has(name)) return false
    this.record({ op: 'global-parameter.clear', name })
    return this.globalParameters.delete(name)
  }

  /** Makes a vhost, or updates the description and tags of one that exists. */
  createVhost(name: string, options: VhostOptions = {}): Vhost {
    if (name === '') throw new Error('a vhost name must not be empty')
    const metadata: VhostMetadata = { description: options.description ?? '', tags: [...(options.tags ?? [])] }
    if (options.defaultQueueType !== undefined) metadata.defaultQueueType = options.defaultQueueType
    this.record({ op: 'vhost.add', vhost: { name, ...metadata } })
    const existing = this.host.vhosts.get(name)
    if (existing) {
      existing.metadata = metadata
      return existing
    }
    const vhost = this.host.makeVhost(name, metadata)
    this.host.vhosts.set(name, vhost)
    this.host.log.info({ vhost: name }, 'vhost created')
    return vhost
  }

  /**
   * Deletes a vhost and everything in it: its queues with their messages and stores, exchanges, bindings,
   * policies, permissions and limits; its connections are closed with 320 CONNECTION_FORCED, as RabbitMQ
   * closes them. Returns false if there is no such vhost.
   */
  async deleteVhost(name: string): Promise<boolean> {
    const vhost = this.host.vhosts.get(name)
    if (!vhost) return false
    this.record({ op: 'vhost.remove', name })
    this.host.vhosts.delete(name)
    this.host.permissions.removeVhost(name)
    this.host.limits.setVhost(name, {})
    // Its queues first (their consumers are told), then its connections
    const destroyed = vhost.destroy()
    this.host.stats.retireVhost(vhost)
    this.closeConnections((c) => c.vhost.name === name, `vhost '${name}' is deleted`)
    await destroyed
    await this.host.removeQueueStores(name)
    this.host.log.info({ vhost: name }, 'vhost deleted')
    return true
  }

  /** Adds or replaces a user (RabbitMQ's add_user, or a PUT of the management API) */
  putUser(name: string, options: UserOptions = {}): User {
    if (name === '') throw new Error('a user name must not be empty')
    const algorithm = options.hashingAlgorithm ?? DEFAULT_HASHING_ALGORITHM
    if (!isHashingAlgorithm(algorithm)) throw new Error(`unknown hashing algorithm '${String(algorithm)}'`)
    const passwordHash =
      options.passwordHash ?? (options.password === undefined ? '' : hashPassword(options.password, algorithm))
    const tags = [...(options.tags ?? [])]
    this.record({ op: 'user.add', user: { name, passwordHash, hashingAlgorithm: algorithm, tags } })
    // RabbitMQ's loopback_users: a user named guest may only log in from the machine itself
    return this.host.users.addHashed(name, passwordHash, algorithm, tags)
  }

  /** Deletes a user, its permissions and limits, and closes its connections as RabbitMQ does. */
  deleteUser(name: string): boolean {
    if (!this.host.users.get(name)) return false
    this.record({ op: 'user.remove', name })
    this.host.users.remove(name)
    this.host.permissions.removeUser(name)
    this.host.limits.setUser(name, {})
    this.closeConnections((c) => c.user.name === name, `user '${name}' is deleted`)
    return true
  }

  setPermission(user: string, vhost: string, p: Permission): void {
    this.checkUserAndVhost(user, vhost)
    checkPattern(p.configure, 'configure')
    checkPattern(p.write, 'write')
    checkPattern(p.read, 'read')
    const permission = { configure: p.configure, write: p.write, read: p.read }
    this.record({ op: 'permission.set', permission: { user, vhost, ...permission } })
    this.host.permissions.set(user, vhost, permission)
  }

  clearPermission(user: string, vhost: string): boolean {
    if (!this.host.permissions.get(user, vhost)) return false
    this.record({ op: 'permission.clear', user, vhost })
    this.host.permissions.clear(user, vhost)
    return true
  }

  setTopicPermission(user: string, vhost: string, tp: TopicPermission): void {
    this.checkUserAndVhost(user, vhost)
    checkPattern(tp.write, 'write')
    checkPattern(tp.read, 'read')
    const permission = { exchange: tp.exchange, write: tp.write, read: tp.read }
    this.record({ op: 'topic-permission.set', permission: { user, vhost, ...permission } })
    this.host.permissions.setTopic(user, vhost, permission)
  }

  /** Without an exchange: all of the user's topic permissions in the vhost, as rabbitmqctl clears them */
  clearTopicPermission(user: string, vhost: string, exchange?: string): void {
    for (const entry of this.host.permissions.listTopic()) {
      if (entry.user !== user || entry.vhost !== vhost || (exchange !== undefined && entry.exchange !== exchange))
        continue
      this.record({ op: 'topic-permission.clear', user, vhost, exchange: entry.exchange })
      this.host.permissions.clearTopic(user, vhost, entry.exchange)
    }
  }

  /** Replaces a vhost's limits (max-connections, max-queues; negative: none); {} clears them */
  setVhostLimits(vhost: string, limits: LimitsDefinition): void {
    if (!this.host.vhosts.has(vhost)) throw new Error(`no vhost '${vhost}'`)
    validateLimits(limits, VHOST_LIMITS, `limits of vhost '${vhost}'`)
    this.record({ op: 'vhost-limits.set', vhost, limits: { ...limits } })
    this.host.limits.setVhost(vhost, limits)
  }

  /** Replaces a user's limits (max-connections, max-channels; negative: none); {} clears them */
  setUserLimits(user: string, limits: LimitsDefinition): void {
    if (!this.host.users.get(user)) throw new Error(`no user '${user}'`)
    validateLimits(limits, USER_LIMITS, `limits of user '${user}'`)
    this.record({ op: 'user-limits.set', user, limits: { ...limits } })
    this.host.limits.setUser(user, limits)
  }

  private checkUserAndVhost(user: string, vhost: string): void {
    if (!this.host.users.get(user)) throw new Error(`no user '${user}'`)
    if (!this.host.vhosts.has(vhost)) throw new Error(`no vhost '${vhost}'`)
  }

  private closeConnections(filter: (c: OpenConnection) => boolean, reason: string): void {
    for (const c of this.host.limits.connectionsOf(filter)) c.closeWithError(connectionForced(reason))
  }
}
