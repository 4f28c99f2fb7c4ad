// Runtime parameters, global parameters, the cluster name and the UI's extensions through the management
// API (rabbit_mgmt_wm_parameters / _parameter, _global_parameters / _global_parameter, _cluster_name,
// _extensions), with RabbitMQ 3.10.8's paths, bodies, status codes and texts (checked with curl).
//
// Warren's runtime parameters are the two components it has: vhost-limits (one parameter, 'limits', per
// vhost) and operator_policy (policies.ts); any other component (federation-upstream, shovel...) lists
// empty and a PUT is refused as RabbitMQ refuses a component no plugin registered. Global parameters
// (cluster_name, internal_cluster_id, and whatever an operator stores) are the broker's (broker/tenancy.ts):
// stored in the definitions log with a data directory, exported and imported as `global_parameters`.
import type { Broker } from '../../broker/broker.js'
import type { Vhost } from '../../broker/vhost.js'
import type { PolicyDefinition } from '../../store/definitions-log.js'
import { requireAdministrator, type Access } from './auth.js'
import { operation, type ApiContext, type ApiHandler } from './context.js'
import { NODE, type Json } from './format.js'
import { HttpError, badRequest, noContent, notAuthorised, notFoundError, ok, putReply, requireKeys } from './http.js'
import { operatorPolicies } from './policies.js'

const POLICY_TAGS = ['policymaker', 'administrator']

/** Parameters and global parameters need the policymaker (or administrator) tag, as RabbitMQ's is_authorized_policies */
function requirePolicymaker(access: Access): void {
  if (!access.user.tags.some((t) => POLICY_TAGS.includes(t))) {
    throw notAuthorised('User not authorised to access object')
  }
}

/**
 * RabbitMQ's runtime parameters of these vhosts, as /api/parameters and the definitions list them: the
 * vhost limits (component vhost-limits, name limits) and the operator policies (component operator_policy).
 */
export function vhostParameters(
  broker: Broker,
  vhosts: Vhost[],
): { component: string; name: string; vhost: string; value: Json }[] {
  return vhosts.flatMap((v) => [
    ...(Object.keys(broker.limits.vhost(v.name)).length > 0
      ? [{ vhost: v.name, component: 'vhost-limits', name: 'limits', value: broker.limits.vhost(v.name) as Json }]
      : []),
    ...[...v.operatorPolicies.values()].map(({ def }) => ({
      vhost: v.name,
      component: 'operator_policy',
      name: def.name,
      value: { pattern: def.pattern, 'apply-to': def.applyTo, definition: def.definition, priority: def.priority },
    })),
  ])
}

const vhostNotFound = () => new HttpError(404, 'not_found', 'vhost_not_found')

function parametersOf(ctx: ApiContext, access: Access, component?: string, vhostName?: string) {
  const vhosts = [...ctx.broker.vhosts.values()].filter(
    (v) => access.mayAccessVhost(v.name) && (vhostName === undefined || v.name === vhostName),
  )
  return vhostParameters(ctx.broker, vhosts).filter((p) => component === undefined || p.component === component)
}

/** GET /api/parameters[/{component}[/{vhost}]] */
export const listParameters: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const vhost = req.params['vhost']
  if (vhost !== undefined) {
    if (!ctx.broker.vhosts.has(vhost)) throw notFoundError()
    access.requireVhost(vhost)
  }
  return ok(parametersOf(ctx, access, req.params['component'], vhost))
}

export const getParameter: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const { component, vhost, name } = req.params
  if (!ctx.broker.vhosts.has(vhost!)) throw notFoundError()
  access.requireVhost(vhost!)
  const found = parametersOf(ctx, access, component, vhost).find((p) => p.name === name)
  if (!found) throw notFoundError()
  return ok(found)
}

/** PUT /api/parameters/{component}/{vhost}/{name} {value}: vhost limits and operator policies; nothing else */
export const putParameter: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const { component, vhost, name } = req.params as { component: string; vhost: string; name: string }
  if (!ctx.broker.vhosts.has(vhost)) throw vhostNotFound()
  access.requireVhost(vhost)
  const body = req.json()
  requireKeys(body, ['value'])
  const value = body['value']
  if (component === 'vhost-limits' && name === 'limits') {
    requireAdministrator(access.user)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('value must be an object')
    const existed = Object.keys(ctx.broker.limits.vhost(vhost)).length > 0
    operation(() => ctx.broker.setVhostLimits(vhost, value as Record<string, number>))
    return putReply(existed)
  }
  if (component === 'operator_policy') {
    const policy = (typeof value === 'object' && value !== null ? value : {}) as Partial<PolicyDefinition>
    for (const key of ['pattern', 'definition', 'priority'] as const) {
      if (policy[key] === undefined) {
        throw badRequest(`Validation failed\n\nKey "${key}" not found in ${name}\n`)
      }
    }
    // The operator policy route does the rest (validation, storage, applying it)
    return operatorPolicies.put(ctx, access, { ...req, json: () => policy as Record<string, unknown> })
  }
  throw badRequest(`Validation failed\n\ncomponent ${component} not found\n`)
}

export const deleteParameter: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const { component, vhost, name } = req.params as { component: string; vhost: string; name: string }
  if (!ctx.broker.vhosts.has(vhost)) throw notFoundError()
  access.requireVhost(vhost)
  if (component === 'vhost-limits' && name === 'limits') {
    requireAdministrator(access.user)
    if (Object.keys(ctx.broker.limits.vhost(vhost)).length === 0) throw notFoundError()
    operation(() => ctx.broker.setVhostLimits(vhost, {}))
    return noContent()
  }
  if (component === 'operator_policy') return operatorPolicies.remove(ctx, access, req)
  throw notFoundError()
}

/** The broker's global parameters, stored in the definitions log (broker/tenancy.ts) */
const globalParameters = (broker: Broker): ReadonlyMap<string, unknown> => broker.tenancy.globalParameters

/** The cluster name: the global parameter cluster_name once set (PUT /api/cluster-name), else the node's name */
export function clusterName(broker: Broker): string {
  const name = globalParameters(broker).get('cluster_name')
  return typeof name === 'string' ? name : NODE
}

/** The global parameters as /api/global-parameters and the definitions list them, by name */
export function globalParametersJson(broker: Broker): Json[] {
  return [...globalParameters(broker)]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => ({ name, value: value as Json }))
}

export const listGlobalParameters: ApiHandler = (ctx, access) => {
  requirePolicymaker(access)
  return ok(globalParametersJson(ctx.broker))
}

export const getGlobalParameter: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const name = req.params['name']!
  const map = globalParameters(ctx.broker)
  if (!map.has(name)) throw notFoundError()
  return ok({ name, value: map.get(name) as Json })
}

export const putGlobalParameter: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const body = req.json()
  requireKeys(body, ['value'])
  const name = req.params['name']!
  const existed = globalParameters(ctx.broker).has(name)
  operation(() => ctx.broker.tenancy.setGlobalParameter(name, body['value']))
  return putReply(existed)
}

export const deleteGlobalParameter: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  if (!operation(() => ctx.broker.tenancy.clearGlobalParameter(req.params['name']!))) throw notFoundError()
  return noContent()
}

/** GET /api/cluster-name: any management user; PUT {name}: administrators (RabbitMQ 3.10.8) */
export const getClusterName: ApiHandler = (ctx) => ok({ name: clusterName(ctx.broker) })

export const putClusterName: ApiHandler = (ctx, access, req) => {
  requireAdministrator(access.user)
  const body = req.json()
  requireKeys(body, ['name'])
  const name = body['name']
  if (typeof name !== 'string' || name === '') throw badRequest('name must be a non-empty string')
  operation(() => ctx.broker.tenancy.setGlobalParameter('cluster_name', name))
  return noContent()
}

/**
 * GET /api/extensions: the management UI's plugin scripts. RabbitMQ lists its plugins' (dispatcher.js of
 * rabbitmq_management); Warren's UI loads none, so the list is empty.
 */
export const listExtensions: ApiHandler = () => ok([])
