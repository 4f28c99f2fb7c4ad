// Vhosts, users, permissions and topic permissions through the management API, made and removed with the
// broker's operations (broker/tenancy.ts), so they are stored as any other change. Status codes as RabbitMQ
// 3.10.8 answers: PUT 201 for a new object, 204 for an existing one; DELETE 204, or 404 if missing.
import { isHashingAlgorithm } from '../../auth/password.js'
import { requireAdministrator } from './auth.js'
import { operation, vhostOf, type ApiHandler } from './context.js'
import { badRequest, noContent, notFoundError, ok, putReply, requireKeys, stringField } from './http.js'
import { userJson, vhostJson } from './format.js'
import { vhostTraffic } from './statistics.js'

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

export const whoami: ApiHandler = (_ctx, access) => ok({ name: access.user.name, tags: [...access.user.tags] })

export const listVhosts: ApiHandler = (ctx, access) =>
  ok(
    [...ctx.broker.vhosts.values()]
      .filter((v) => access.seesVhost(v.name))
      .sort(byName)
      .map((v) => vhostJson(v, vhostTraffic(ctx, v))),
  )

export const getVhost: ApiHandler = (ctx, access, req) => {
  const vhost = vhostOf(ctx, req.params['vhost'])
  if (!access.seesVhost(vhost.name)) access.requireVhost(vhost.name)
  return ok(vhostJson(vhost, vhostTraffic(ctx, vhost)))
}

/** RabbitMQ takes tags as a list or a comma-separated string */
function tagsOf(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value.map(String) : undefined
  if (!list) throw badRequest('tags must be a list or a string')
  return list.map((t) => t.trim()).filter((t) => t !== '')
}

export const putVhost: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const name = req.params['vhost']!
  const body = req.json()
  const existing = ctx.broker.vhosts.get(name)
  const description = stringField(body, 'description', existing?.metadata.description ?? '')
  const tags = tagsOf(body['tags']) ?? existing?.metadata.tags ?? []
  const queueType = body['default_queue_type']
  operation(() =>
    ctx.broker.createVhost(name, {
      description,
      tags,
      ...(typeof queueType === 'string' ? { defaultQueueType: queueType } : {}),
    }),
  )
  // The vhost's creator gets full access to it, as RabbitMQ's API gives it (rabbit_mgmt_wm_vhost:put_vhost)
  if (!existing) ctx.broker.setPermission(access.user.name, name, { configure: '.*', write: '.*', read: '.*' })
  return putReply(existing !== undefined)
}

export const deleteVhost: ApiHandler = async (ctx, access, req) => {
  requireAdministrator(access.user)
  const name = req.params['vhost']!
  if (!ctx.broker.vhosts.has(name)) throw notFoundError()
  await ctx.broker.deleteVhost(name)
  return noContent()
}

export const listUsers: ApiHandler = (ctx, access) => {
  requireAdministrator(access.user)
  return ok(
    ctx.broker.users
      .list()
      .sort(byName)
      .map((u) => userJson(u, ctx.broker.limits.user(u.name))),
  )
}

export const getUser: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const user = ctx.broker.users.get(req.params['user']!)
  if (!user) throw notFoundError()
  return ok(userJson(user, ctx.broker.limits.user(user.name)))
}

export const putUser: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const name = req.params['user']!
  const body = req.json()
  const existed = ctx.broker.users.get(name) !== undefined
  // tags are required, a password is not (RabbitMQ 3.10.8: 400 tags_not_present)
  if (body['tags'] === undefined) throw badRequest('tags_not_present')
  const tags = tagsOf(body['tags']) ?? []
  const password = body['password']
  const hash = body['password_hash']
  if (typeof password === 'string') {
    operation(() => ctx.broker.putUser(name, { password, tags }))
  } else if (typeof hash === 'string') {
    const algorithm = stringField(body, 'hashing_algorithm', 'rabbit_password_hashing_sha256')
    if (!isHashingAlgorithm(algorithm)) throw badRequest(`unknown hashing algorithm '${algorithm}'`)
    // An empty hash is a user without a password (password logins impossible), as in RabbitMQ
    operation(() => ctx.broker.putUser(name, { passwordHash: hash, hashingAlgorithm: algorithm, tags }))
  } else {
    // Neither: RabbitMQ makes a user without a password (or keeps the existing one's)
    const existing = ctx.broker.users.get(name)
    const options = existing
      ? { passwordHash: existing.passwordHash, hashingAlgorithm: existing.hashingAlgorithm, tags }
      : { tags }
    operation(() => ctx.broker.putUser(name, options))
  }
  return putReply(existed)
}

export const deleteUser: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  if (!operation(() => ctx.broker.deleteUser(req.params['user']!))) throw notFoundError()
  return noContent()
}

// Permissions

export const listPermissions: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const { vhost, user } = req.params
  if (vhost !== undefined) vhostOf(ctx, vhost)
  if (user !== undefined && !ctx.broker.users.get(user)) throw notFoundError()
  return ok(
    ctx.broker.permissions
      .list()
      .filter((p) => (vhost === undefined || p.vhost === vhost) && (user === undefined || p.user === user))
      .map(({ user, vhost, configure, write, read }) => ({ user, vhost, configure, write, read })),
  )
}

export const getPermission: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const user = req.params['user']!
  const vhost = req.params['vhost']!
  const p = ctx.broker.permissions.get(user, vhost)
  if (!p) throw notFoundError()
  return ok({ user, vhost, configure: p.configure, write: p.write, read: p.read })
}

function checkUserAndVhost(ctx: Parameters<ApiHandler>[0], user: string, vhost: string): void {
  if (!ctx.broker.users.get(user) || !ctx.broker.vhosts.has(vhost)) throw badRequest('vhost_or_user_not_found')
}

export const putPermission: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const user = req.params['user']!
  const vhost = req.params['vhost']!
  const body = req.json()
  requireKeys(body, ['configure', 'write', 'read'])
  checkUserAndVhost(ctx, user, vhost)
  const existed = ctx.broker.permissions.get(user, vhost) !== undefined
  const p = {
    configure: stringField(body, 'configure', ''),
    write: stringField(body, 'write', ''),
    read: stringField(body, 'read', ''),
  }
  operation(() => ctx.broker.setPermission(user, vhost, p))
  return putReply(existed)
}

export const deletePermission: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  if (!operation(() => ctx.broker.clearPermission(req.params['user']!, req.params['vhost']!))) throw notFoundError()
  return noContent()
}

export const listTopicPermissions: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const { vhost, user } = req.params
  if (vhost !== undefined) vhostOf(ctx, vhost)
  if (user !== undefined && !ctx.broker.users.get(user)) throw notFoundError()
  const list = ctx.broker.permissions
    .listTopic()
    .filter((p) => (vhost === undefined || p.vhost === vhost) && (user === undefined || p.user === user))
    .map(({ user, vhost, exchange, write, read }) => ({ user, vhost, exchange, write, read }))
  // A user and vhost without any: 404, as RabbitMQ answers /api/topic-permissions/{v}/{u}
  if (vhost !== undefined && user !== undefined && list.length === 0) throw notFoundError()
  return ok(list)
}

export const putTopicPermission: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const user = req.params['user']!
  const vhost = req.params['vhost']!
  const body = req.json()
  requireKeys(body, ['exchange', 'write', 'read'])
  checkUserAndVhost(ctx, user, vhost)
  const exchange = stringField(body, 'exchange', '')
  const existed = ctx.broker.permissions.getTopic(user, vhost, exchange) !== undefined
  const tp = { exchange, write: stringField(body, 'write', ''), read: stringField(body, 'read', '') }
  operation(() => ctx.broker.setTopicPermission(user, vhost, tp))
  return putReply(existed)
}

export const deleteTopicPermission: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const user = req.params['user']!
  const vhost = req.params['vhost']!
  if (!ctx.broker.permissions.listTopic().some((p) => p.user === user && p.vhost === vhost)) throw notFoundError()
  operation(() => ctx.broker.clearTopicPermission(user, vhost))
  return noContent()
}
