// One connection's permission checks, with RabbitMQ 3.10's refusals (rabbit_access_control), which do not
// say which permission was missing: 403 ACCESS_REFUSED "access to queue 'q' in vhost '/' refused for user
// 'u'", and for a topic exchange's routing key "access to topic 'k' in exchange 'x' in vhost '/' refused
// for user 'u'" (both checked against RabbitMQ 3.10.8, test/integration/permissions.test.ts). What was checked is remembered until the permissions change
// (their generation moves), so that a publisher pays one comparison per message, not a regex match.
import { accessRefused } from '../protocol/errors.js'
import type { Permissions, PermissionKind } from './permissions.js'
import type { User } from './users.js'

export type ResourceKind = 'exchange' | 'queue'

/** Remembered checks per connection; beyond this many they are forgotten and made again */
const CACHE_LIMIT = 256

export class ConnectionAccess {
  private generation: number
  private readonly allowed = new Set<string>()
  /** The publish hot path: the exchange last found writable, at `generation` */
  private writableExchange: string | undefined

  constructor(
    private readonly permissions: Permissions,
    readonly user: User,
    readonly vhost: string,
  ) {
    this.generation = permissions.generation
  }

  /** RabbitMQ checks the default exchange under the name amq.default. */
  private static resourceName(kind: ResourceKind, name: string): string {
    return kind === 'exchange' && name === '' ? 'amq.default' : name
  }

  private fresh(): void {
    if (this.generation === this.permissions.generation) return
    this.generation = this.permissions.generation
    this.allowed.clear()
    this.writableExchange = undefined
  }

  /** Throws 403 unless the user has `permission` on the exchange or queue `name` of this vhost. */
  check(permission: PermissionKind, kind: ResourceKind, name: string): void {
    this.fresh()
    const resource = ConnectionAccess.resourceName(kind, name)
    const key = `${permission}\u0000${kind}\u0000${resource}`
    if (this.allowed.has(key)) return
    if (!this.permissions.allows(this.user.name, this.vhost, permission, resource)) {
      throw accessRefused(
        `access to ${kind} '${resource}' in vhost '${this.vhost}' refused for user '${this.user.name}'`,
      )
    }
    if (this.allowed.size >= CACHE_LIMIT) this.allowed.clear()
    this.allowed.add(key)
  }

  /** basic.publish: write on the exchange, one string comparison when it is the last one published to. */
  checkPublish(exchange: string): void {
    this.fresh()
    if (exchange === this.writableExchange) return
    this.check('write', 'exchange', exchange)
    this.writableExchange = exchange
  }

  /** A routing key (publish: write) or binding key (bind, unbind: read) on a topic exchange. */
  checkTopic(permission: 'write' | 'read', exchangeType: string, exchange: string, routingKey: string): void {
    if (exchangeType !== 'topic') return
    if (this.permissions.allowsTopic(this.user, this.vhost, exchange, permission, routingKey)) return
    throw accessRefused(
      `access to topic '${routingKey}' in exchange '${exchange}' in vhost '${this.vhost}' ` +
        `refused for user '${this.user.name}'`,
    )
  }
}
