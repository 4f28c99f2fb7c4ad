// Policies through the management API (rabbit_mgmt_wm_policies / rabbit_mgmt_wm_policy): listed, read,
// set and cleared through the vhost's own setPolicy/clearPolicy, the path the definitions import takes, so
// a policy applies at once to the vhost's queues (Queue.applyPolicy) and exchanges (the router reads it per
// publish) and is stored like one made by the import. Policies need the policymaker (or administrator) tag.
import type { Vhost } from '../../broker/vhost.js'
import { POLICY_KEYS } from '../../broker/policy.js'
import type { PolicyDefinition } from '../../store/definitions-log.js'
import type { Access } from './auth.js'
import { operation, vhostOf, type ApiContext, type ApiHandler } from './context.js'
import { notAuthorised } from './errors.js'
import type { Json } from './format.js'
import { badRequest, noContent, notFoundError, ok, putReply, requireKeys } from './http.js'

const POLICY_TAGS = ['policymaker', 'administrator']

function requirePolicymaker(access: Access): void {
  if (!access.user.tags.some((t) => POLICY_TAGS.includes(t)))
    throw notAuthorised('User not authorised to access object')
}

export function policyJson(p: PolicyDefinition): Json {
  return {
    vhost: p.vhost,
    name: p.name,
    pattern: p.pattern,
    'apply-to': p.applyTo,
    definition: { ...p.definition },
    priority: p.priority,
  }
}

function visible(ctx: ApiContext, access: Access, name: string | undefined): Vhost[] {
  if (name !== undefined) {
    const vhost = vhostOf(ctx, name)
    access.requireVhost(vhost.name)
    return [vhost]
  }
  // Policies are listed for the vhosts the user may log in to, monitoring or not (3.10.8)
  return [...ctx.broker.vhosts.values()].filter((v) => access.mayAccessVhost(v.name))
}

export const listPolicies: ApiHandler = (ctx, access, req) => {
  const items = visible(ctx, access, req.params['vhost']).flatMap((v) =>
    [...v.policies.values()].map((p) => policyJson(p.def)),
  )
  return ok(items)
}

function policyOf(ctx: ApiContext, access: Access, vhostName: string, name: string): PolicyDefinition {
  const vhost = visible(ctx, access, vhostName)[0]!
  const policy = vhost.policies.get(name)
  if (!policy) throw notFoundError()
  return policy.def
}

export const getPolicy: ApiHandler = (ctx, access, req) => {
  return ok(policyJson(policyOf(ctx, access, req.params['vhost']!, req.params['name']!)))
}

export const putPolicy: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const vhost = visible(ctx, access, req.params['vhost'])[0]!
  const name = req.params['name']!
  const body = req.json()
  requireKeys(body, ['pattern', 'definition'])
  const { pattern, definition } = body
  const applyTo = body['apply-to'] ?? 'all'
  const priority = body['priority'] ?? 0
  if (typeof pattern !== 'string') throw badRequest('pattern must be a string')
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw badRequest('definition must be an object')
  }
  if (applyTo !== 'queues' && applyTo !== 'exchanges' && applyTo !== 'all') {
    throw badRequest(
      `Validation failed\n\napply-to '${String(applyTo)}' unrecognised; should be 'queues', 'exchanges' or 'all'\n`,
    )
  }
  // rabbitmqadmin sends the priority as a string
  const priorityNumber = typeof priority === 'string' ? Number(priority) : priority
  if (typeof priorityNumber !== 'number' || !Number.isInteger(priorityNumber)) {
    throw badRequest(`Validation failed\n\npriority must be an integer\n`)
  }
  const keys: Record<string, string | number | boolean> = {}
  for (const [key, value] of Object.entries(definition as Record<string, unknown>)) {
    if (!POLICY_KEYS.has(key)) {
      // As the definitions import: a key Warren does not have (ha-mode, queue-mode...) is dropped, logged
      ctx.broker.log.warn(
        { vhost: vhost.name, policy: name, key },
        'management API: policy key Warren does not have skipped',
      )
      continue
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw badRequest(`Validation failed\n\npolicy key '${key}' takes a string or a number\n`)
    }
    keys[key] = value
  }
  const existed = vhost.policies.has(name)
  operation(() =>
    vhost.setPolicy({ vhost: vhost.name, name, pattern, applyTo, priority: priorityNumber, definition: keys }),
  )
  return putReply(existed)
}

export const deletePolicy: ApiHandler = (ctx, access, req) => {
  requirePolicymaker(access)
  const vhost = visible(ctx, access, req.params['vhost'])[0]!
  if (!vhost.clearPolicy(req.params['name']!)) throw notFoundError()
  return noContent()
}

/** Operator policies: Warren has none (no broker support); the list is empty, a PUT is refused */
export const listOperatorPolicies: ApiHandler = (ctx, access, req) => {
  if (req.params['vhost'] !== undefined) visible(ctx, access, req.params['vhost'])
  return ok([])
}
