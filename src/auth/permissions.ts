// Permissions of users in virtual hosts, as RabbitMQ's internal authorisation backend keeps and matches
// them (rabbit_auth_backend_internal): per user and vhost, three regular expressions (configure, write,
// read) matched against a resource's name; per user, vhost and topic exchange, two more (write, read)
// matched against routing keys. A pattern is searched for anywhere in the name, as Erlang's re:run does,
// so it is anchored only if it says so ('^...$'); '' is taken as '^$' (nothing but the empty name).
import { hasTag, type User } from './users.js'

export interface Permission {
  configure: string
  write: string
  read: string
}

export interface TopicPermission {
  exchange: string
  write: string
  read: string
}

export type PermissionKind = 'configure' | 'write' | 'read'

/** A user's permission in one vhost, as listed (RabbitMQ's definitions "permissions") */
export interface PermissionEntry extends Permission {
  user: string
  vhost: string
}

/** A user's topic permission in one vhost (RabbitMQ's definitions "topic_permissions") */
export interface TopicPermissionEntry extends TopicPermission {
  user: string
  vhost: string
}

const regexCache = new Map<string, RegExp>()

/** RabbitMQ's pattern as a RegExp: '' means '^$'; unanchored unless the pattern anchors itself. */
function compile(pattern: string): RegExp {
  let re = regexCache.get(pattern)
  if (!re) {
    // A pattern JavaScript cannot compile matches nothing (RabbitMQ refuses to store one it cannot compile)
    try {
      re = new RegExp(pattern === '' ? '^$' : pattern)
    } catch {
      re = /(?!)/
    }
    if (regexCache.size > 10_000) regexCache.clear()
    regexCache.set(pattern, re)
  }
  return re
}

export function patternMatches(pattern: string, subject: string): boolean {
  return compile(pattern).test(subject)
}

/** Whether a pattern is a regular expression Warren can match (to refuse one when it is set). */
export function validPattern(pattern: string): boolean {
  try {
    new RegExp(pattern)
    return true
  } catch {
    return false
  }
}

/** The variables a topic permission may name: {username}, {vhost} (and {client_id} in MQTT, not here). */
export function expandTopicPattern(pattern: string, variables: Readonly<Record<string, string>>): string {
  let expanded = pattern
  for (const [name, value] of Object.entries(variables)) expanded = expanded.split(`{${name}}`).join(value)
  return expanded
}

function key(user: string, vhost: string): string {
  return `${user}\u0000${vhost}`
}

export class Permissions {
  private readonly byUserVhost = new Map<string, PermissionEntry>()
  /** user\0vhost → exchange → topic permission */
  private readonly topicByUserVhost = new Map<string, Map<string, TopicPermissionEntry>>()
  /**
   * Bumped by every change: a connection caches what it checked and checks again once this moved, so a
   * change applies to connections already open, at their next operation.
   */
  generation = 0

  set(user: string, vhost: string, p: Permission): void {
    this.byUserVhost.set(key(user, vhost), { user, vhost, configure: p.configure, write: p.write, read: p.read })
    this.generation++
  }

  clear(user: string, vhost: string): void {
    this.byUserVhost.delete(key(user, vhost))
    this.generation++
  }

  get(user: string, vhost: string): Permission | undefined {
    const entry = this.byUserVhost.get(key(user, vhost))
    return entry && { configure: entry.configure, write: entry.write, read: entry.read }
  }

  setTopic(user: string, vhost: string, tp: TopicPermission): void {
    const k = key(user, vhost)
    let byExchange = this.topicByUserVhost.get(k)
    if (!byExchange) this.topicByUserVhost.set(k, (byExchange = new Map()))
    byExchange.set(tp.exchange, { user, vhost, exchange: tp.exchange, write: tp.write, read: tp.read })
    this.generation++
  }

  /** Clears a user's topic permissions in a vhost: those of one exchange, or all of them. */
  clearTopic(user: string, vhost: string, exchange?: string): void {
    const k = key(user, vhost)
    if (exchange === undefined) this.topicByUserVhost.delete(k)
    else {
      const byExchange = this.topicByUserVhost.get(k)
      byExchange?.delete(exchange)
      if (byExchange?.size === 0) this.topicByUserVhost.delete(k)
    }
    this.generation++
  }

  getTopic(user: string, vhost: string, exchange: string): TopicPermission | undefined {
    const entry = this.topicByUserVhost.get(key(user, vhost))?.get(exchange)
    return entry && { exchange: entry.exchange, write: entry.write, read: entry.read }
  }

  /** A vhost was deleted: its permissions go with it. */
  removeVhost(vhost: string): void {
    for (const [k, entry] of this.byUserVhost) if (entry.vhost === vhost) this.byUserVhost.delete(k)
    for (const [k, byExchange] of this.topicByUserVhost) {
      if (byExchange.values().next().value?.vhost === vhost) this.topicByUserVhost.delete(k)
    }
    this.generation++
  }

  /** A user was deleted: their permissions go with them. */
  removeUser(user: string): void {
    for (const [k, entry] of this.byUserVhost) if (entry.user === user) this.byUserVhost.delete(k)
    for (const [k, byExchange] of this.topicByUserVhost) {
      if (byExchange.values().next().value?.user === user) this.topicByUserVhost.delete(k)
    }
    this.generation++
  }

  list(): PermissionEntry[] {
    return [...this.byUserVhost.values()].map((e) => ({ ...e }))
  }

  listTopic(): TopicPermissionEntry[] {
    return [...this.topicByUserVhost.values()].flatMap((byExchange) => [...byExchange.values()].map((e) => ({ ...e })))
  }

  /** RabbitMQ's check_vhost_access of the internal backend: any permission entry in the vhost grants access. */
  mayAccessVhost(user: string, vhost: string): boolean {
    return this.byUserVhost.has(key(user, vhost))
  }

  /** check_resource_access: the user's pattern of that kind in the vhost, searched in the name. */
  allows(user: string, vhost: string, kind: PermissionKind, name: string): boolean {
    const entry = this.byUserVhost.get(key(user, vhost))
    return entry !== undefined && patternMatches(entry[kind], name)
  }

  /**
   * check_topic_access: a routing key on a topic exchange. Without a topic permission for that exchange
   * everything is allowed, as in RabbitMQ; the pattern's {username} and {vhost} are expanded first.
   */
  allowsTopic(user: User, vhost: string, exchange: string, kind: 'write' | 'read', routingKey: string): boolean {
    const entry = this.topicByUserVhost.get(key(user.name, vhost))?.get(exchange)
    if (!entry) return true
    return patternMatches(expandTopicPattern(entry[kind], { username: user.name, vhost }), routingKey)
  }
}

/** The impersonator tag lets a user publish messages whose user_id names someone else. */
export function mayImpersonate(user: User): boolean {
  return hasTag(user, 'impersonator')
}
