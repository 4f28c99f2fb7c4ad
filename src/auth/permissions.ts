// Who may do what in which vhost: RabbitMQ's configure/write/read regular expressions per user and vhost,
// and its topic permissions per user, vhost and topic exchange.
// (Stub of the auth helper's module, with its signatures: the lead merges the real one.)

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

const key = (user: string, vhost: string) => JSON.stringify([user, vhost])

export class Permissions {
  private readonly permissions = new Map<string, { user: string; vhost: string; permission: Permission }>()
  private readonly topic = new Map<string, { user: string; vhost: string; permissions: Map<string, TopicPermission> }>()

  set(user: string, vhost: string, p: Permission): void {
    this.permissions.set(key(user, vhost), { user, vhost, permission: { ...p } })
  }

  clear(user: string, vhost: string): boolean {
    return this.permissions.delete(key(user, vhost))
  }

  get(user: string, vhost: string): Permission | undefined {
    return this.permissions.get(key(user, vhost))?.permission
  }

  setTopic(user: string, vhost: string, tp: TopicPermission): void {
    let entry = this.topic.get(key(user, vhost))
    if (!entry) this.topic.set(key(user, vhost), (entry = { user, vhost, permissions: new Map() }))
    entry.permissions.set(tp.exchange, { ...tp })
  }

  /** Without an exchange, all of the user's topic permissions in the vhost */
  clearTopic(user: string, vhost: string, exchange?: string): void {
    const entry = this.topic.get(key(user, vhost))
    if (!entry) return
    if (exchange === undefined) entry.permissions.clear()
    else entry.permissions.delete(exchange)
    if (entry.permissions.size === 0) this.topic.delete(key(user, vhost))
  }

  removeVhost(vhost: string): void {
    for (const [k, e] of this.permissions) if (e.vhost === vhost) this.permissions.delete(k)
    for (const [k, e] of this.topic) if (e.vhost === vhost) this.topic.delete(k)
  }

  removeUser(user: string): void {
    for (const [k, e] of this.permissions) if (e.user === user) this.permissions.delete(k)
    for (const [k, e] of this.topic) if (e.user === user) this.topic.delete(k)
  }

  list(): { user: string; vhost: string; permission: Permission }[] {
    return [...this.permissions.values()]
  }

  listTopic(): { user: string; vhost: string; permission: TopicPermission }[] {
    return [...this.topic.values()].flatMap((e) =>
      [...e.permissions.values()].map((permission) => ({ user: e.user, vhost: e.vhost, permission })),
    )
  }
}
