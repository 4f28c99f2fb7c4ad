// RabbitMQ's vhost limits (max-connections, max-queues) and user limits (max-connections, max-channels),
// and the open connections they are counted against. The server layer registers each connection here at
// connection.open-ok (and removes it when it closes), so the broker can count them, and close a vhost's or
// a user's connections when either is deleted, without importing the server.
import { notAllowed, preconditionFailed, type AmqpError } from '../protocol/errors.js'
import type { LimitsDefinition } from '../store/definitions-log.js'

/** What the broker needs of an open connection (server/connection.ts is one) */
export interface OpenConnection {
  readonly user: { readonly name: string }
  readonly vhost: { readonly name: string }
  /** Channels open on it now */
  readonly openChannels: number
  /** Sends connection.close with the error (320 CONNECTION_FORCED when its vhost or user is deleted) */
  closeWithError(err: AmqpError): void
}

export const VHOST_LIMITS = ['max-connections', 'max-queues'] as const
export const USER_LIMITS = ['max-connections', 'max-channels'] as const

/** A limit that is absent or negative is none, as in RabbitMQ; 0 allows none at all */
function limitOf(limits: LimitsDefinition | undefined, name: string): number | undefined {
  const value = limits?.[name]
  return value === undefined || value < 0 ? undefined : value
}

/** Throws unless every key is one of `known` and every value an integer (RabbitMQ's validation) */
export function validateLimits(limits: LimitsDefinition, known: readonly string[], what: string): void {
  for (const [name, value] of Object.entries(limits)) {
    if (!known.includes(name)) throw new Error(`${what}: unknown limit '${name}' (known: ${known.join(', ')})`)
    if (!Number.isInteger(value)) throw new Error(`${what}: limit '${name}' must be an integer, got ${String(value)}`)
  }
}

export class Limits {
  readonly connections = new Set<OpenConnection>()
  private readonly vhostLimits = new Map<string, LimitsDefinition>()
  private readonly userLimits = new Map<string, LimitsDefinition>()

  vhost(name: string): LimitsDefinition {
    return this.vhostLimits.get(name) ?? {}
  }

  user(name: string): LimitsDefinition {
    return this.userLimits.get(name) ?? {}
  }

  /** Replaces a vhost's limits; {} clears them */
  setVhost(name: string, limits: LimitsDefinition): void {
    if (Object.keys(limits).length === 0) this.vhostLimits.delete(name)
    else this.vhostLimits.set(name, { ...limits })
  }

  setUser(name: string, limits: LimitsDefinition): void {
    if (Object.keys(limits).length === 0) this.userLimits.delete(name)
    else this.userLimits.set(name, { ...limits })
  }

  connectionsOf(filter: (c: OpenConnection) => boolean): OpenConnection[] {
    return [...this.connections].filter(filter)
  }

  /**
   * At connection.open, before open-ok: RabbitMQ's 530 NOT_ALLOWED texts (rabbit_reader), the vhost's limit
   * checked before the user's.
   */
  checkConnection(vhost: string, user: string): void {
    const vhostMax = limitOf(this.vhostLimits.get(vhost), 'max-connections')
    if (vhostMax !== undefined && this.count((c) => c.vhost.name === vhost) >= vhostMax) {
      throw notAllowed(
        `access to vhost '${vhost}' refused for user '${user}': connection limit (${vhostMax}) is reached`,
      )
    }
    const userMax = limitOf(this.userLimits.get(user), 'max-connections')
    if (userMax !== undefined && this.count((c) => c.user.name === user) >= userMax) {
      throw notAllowed(`connection refused for user '${user}': user connection limit (${userMax}) is reached`)
    }
  }

  /** At channel.open: the user's channels on all its connections, as RabbitMQ counts them */
  checkChannel(user: string): void {
    const max = limitOf(this.userLimits.get(user), 'max-channels')
    if (max === undefined) return
    let open = 0
    for (const c of this.connections) if (c.user.name === user) open += c.openChannels
    if (open >= max) {
      const refused = notAllowed(
        `number of channels opened for user '${user}' has reached the maximum allowed user limit of (${max})`,
      )
      refused.noMethod = true // RabbitMQ's reader refuses it before any channel handles the method: 0/0
      throw refused
    }
  }

  /** At the declaration of a new queue, with the number of queues the vhost has (406, rabbit_channel) */
  checkQueue(vhost: string, queue: string, queues: number): void {
    const max = limitOf(this.vhostLimits.get(vhost), 'max-queues')
    if (max !== undefined && queues >= max) {
      throw preconditionFailed(`cannot declare queue '${queue}': queue limit in vhost '${vhost}' (${max}) is reached`)
    }
  }

  private count(filter: (c: OpenConnection) => boolean): number {
    let n = 0
    for (const c of this.connections) if (filter(c)) n++
    return n
  }
}
