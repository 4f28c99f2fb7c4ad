// Policies and operator policies through the management API (rabbit_mgmt_wm_policies / _policy and
// rabbit_mgmt_wm_operator_policies / _policy): listed, read, set and cleared through the vhost's own
// setPolicy/clearPolicy, the path the definitions import takes, so a policy applies at once to the vhost's
// queues (Queue.applyPolicy) and exchanges (the router reads it per publish) and is stored like one made by
// the import. One set of handlers serves both kinds (policyHandlers). Both need the policymaker (or
// administrator) tag to change; texts as RabbitMQ 3.10.8 answers (checked with curl).
import type { Policy } from '../../broker/policy.js'
import type { Vhost } from '../../broker/vhost.js'
import { OPERATOR_POLICY_KEYS, POLICY_KEYS } from '../../broker/policy.js'
import type { PolicyDefinition } from '../../store/definitions-log.js'
import type { Access } from './auth.js'
import { operation, vhostOf, type ApiContext, type ApiHandler } from './context.js'
import { notAuthorised } from './errors.js'
import type { Json } from './format.js'
import { HttpError, badRequest, noContent, notFoundError, ok, putReply, requireKeys } from './http.js'

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

type PolicyKind = 'operator' | undefined

const policiesOf = (vhost: Vhost, kind: PolicyKind): ReadonlyMap<string, Policy> =>
  kind === 'operator' ? vhost.operatorPolicies : vhost.policies

/** An Erlang term as RabbitMQ prints it in a validation error: <<"text">> for strings */
const erlangTerm = (v: unknown): string => (typeof v === 'string' ? `<<"${v}">>` : JSON.stringify(v))

/** What RabbitMQ's rabbit_policies calls each limit when refusing a value */
const LIMIT_NAMES: Record<string, string> = {
  'message-ttl': 'message TTL',
  expires: 'queue expiry',
  'max-length': 'maximum length',
  'max-length-bytes': 'maximum length in bytes',
  'max-in-memory-length': 'maximum memory in bytes',
  'max-in-memory-bytes': 'maximum memory in bytes',
  'delivery-limit': 'delivery limit',
}

const validationFailed = (text: string) => badRequest(`Validation failed\n\n${text}\n`)

/** An operator policy's definition, refused as RabbitMQ's operator_policy_validator refuses it */
function operatorDefinition(definition: Record<string, unknown>): Record<string, number> {
  const unknown = Object.keys(definition)
    .filter((k) => !OPERATOR_POLICY_KEYS.has(k))
    .sort()
  if (unknown.length > 0) {
    const terms = unknown.map((k) => `{${erlangTerm(k)},${erlangTerm(definition[k])}}`)
    throw validationFailed(`[${terms.join(',')}] are not recognised policy settings`)
  }
  const keys: Record<string, number> = {}
  for (const [key, value] of Object.entries(definition)) {
    const least = key === 'expires' ? 1 : 0
    if (typeof value !== 'number' || !Number.isInteger(value) || value < least) {
      throw validationFailed(`${erlangTerm(value)} is not a valid ${LIMIT_NAMES[key]!}`)
    }
    keys[key] = value
  }
  return keys
}

/** A user policy's definition: keys Warren does not have are dropped and logged, as the definitions import */
function userDefinition(
  ctx: ApiContext,
  vhost: Vhost,
  name: string,
  definition: Record<string, unknown>,
): Record<string, string | number | boolean> {
  const keys: Record<string, string | number | boolean> = {}
  for (const [key, value] of Object.entries(definition)) {
    if (!POLICY_KEYS.has(key)) {
      ctx.broker.log.warn(
        { vhost: vhost.name, policy: name, key },
        'management API: policy key Warren does not have skipped',
      )
      continue
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw validationFailed(`policy key '${key}' takes a string or a number`)
    }
    keys[key] = value
  }
  return keys
}

/** GET (list, one), PUT and DELETE of one kind of policy */
function policyHandlers(kind: PolicyKind) {
  const list: ApiHandler = (ctx, access, req) => {
    const items = visible(ctx, access, req.params['vhost']).flatMap((v) =>
      [...policiesOf(v, kind).values()].map((p) => policyJson(p.def)),
    )
    return ok(items)
  }

  const get: ApiHandler = (ctx, access, req) => {
    const vhost = visible(ctx, access, req.params['vhost'])[0]!
    const policy = policiesOf(vhost, kind).get(req.params['name']!)
    if (!policy) throw notFoundError()
    return ok(policyJson(policy.def))
  }

  const put: ApiHandler = (ctx, access, req) => {
    requirePolicymaker(access)
    // A PUT into a vhost that does not exist: RabbitMQ's own 404 body
    if (!ctx.broker.vhosts.has(req.params['vhost']!)) throw new HttpError(404, 'not_found', 'vhost_not_found')
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
    if (Object.keys(definition).length === 0) throw validationFailed('no policy provided')
    if (applyTo !== 'queues' && applyTo !== 'exchanges' && applyTo !== 'all') {
      throw validationFailed(`apply-to '${String(applyTo)}' unrecognised; should be 'queues', 'exchanges' or 'all'`)
    }
    // rabbitmqadmin sends the priority as a string
    const priorityNumber = typeof priority === 'string' ? Number(priority) : priority
    if (typeof priorityNumber !== 'number' || !Number.isInteger(priorityNumber)) {
      throw validationFailed('priority must be an integer')
    }
    const fields = definition as Record<string, unknown>
    const keys = kind === 'operator' ? operatorDefinition(fields) : userDefinition(ctx, vhost, name, fields)
    const existed = policiesOf(vhost, kind).has(name)
    const def: PolicyDefinition = {
      vhost: vhost.name,
      name,
      pattern,
      applyTo,
      priority: priorityNumber,
      definition: keys,
    }
    operation(() => vhost.setPolicy(kind === 'operator' ? { ...def, kind } : def))
    return putReply(existed)
  }

  const remove: ApiHandler = (ctx, access, req) => {
    requirePolicymaker(access)
    const vhost = visible(ctx, access, req.params['vhost'])[0]!
    if (!vhost.clearPolicy(req.params['name']!, kind)) throw notFoundError()
    return noContent()
  }
  return { list, get, put, remove }
}

export const policies = policyHandlers(undefined)
export const operatorPolicies = policyHandlers('operator')
