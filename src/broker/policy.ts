// Policies: named settings applied to the queues or exchanges whose names match a pattern. The policy with
// the highest priority among those that match applies; a queue's own x- arguments win over it, except for
// the limits, where the smaller applies (queue-settings.ts), as in RabbitMQ.
//
// Operator policies are the same objects of another kind (PolicyDefinition.kind 'operator'): set by an
// operator to cap what users' policies and arguments ask for, they take only the limit keys, and the one in
// force for a queue is merged with its user policy key by key, the smaller number winning (RabbitMQ's
// rabbit_policy:merge_policy_value).
import type { FieldTable } from '../protocol/field-value.js'
import type { PolicyDefinition } from '../store/definitions-log.js'

/**
 * The policy keys Warren understands, and the type each takes. A Map: the keys come from the operator's
 * definitions, and one named like an Object.prototype member ('constructor') must be unknown, not a function.
 */
export const POLICY_KEYS: ReadonlyMap<string, 'number' | 'string'> = new Map([
  ['message-ttl', 'number'],
  ['expires', 'number'],
  ['dead-letter-exchange', 'string'],
  ['dead-letter-routing-key', 'string'],
  ['max-length', 'number'],
  ['max-length-bytes', 'number'],
  ['overflow', 'string'],
  ['alternate-exchange', 'string'],
  ['max-priority', 'number'],
])

/**
 * The keys an operator policy may set (RabbitMQ 3.10's operator_policy_validator). Warren's classic queues
 * use the first four; the in-memory and delivery limits (quorum queues') are kept and exported unused.
 */
export const OPERATOR_POLICY_KEYS: ReadonlySet<string> = new Set([
  'expires',
  'message-ttl',
  'max-length',
  'max-length-bytes',
  'max-in-memory-length',
  'max-in-memory-bytes',
  'delivery-limit',
])

export class Policy {
  readonly regex: RegExp

  constructor(readonly def: PolicyDefinition) {
    this.regex = new RegExp(def.pattern)
  }

  get name(): string {
    return this.def.name
  }

  appliesTo(kind: 'queues' | 'exchanges', name: string): boolean {
    return (this.def.applyTo === 'all' || this.def.applyTo === kind) && this.regex.test(name)
  }
}

/** Checks a policy before it is stored; returns what is wrong, or undefined. */
export function policyError(def: PolicyDefinition): string | undefined {
  try {
    new RegExp(def.pattern)
  } catch {
    return `invalid pattern '${def.pattern}'`
  }
  if (!['queues', 'exchanges', 'all'].includes(def.applyTo)) return `invalid apply-to '${def.applyTo}'`
  if (!Number.isInteger(def.priority)) return `invalid priority '${def.priority}'`
  if (def.kind === 'operator') {
    for (const [key, value] of Object.entries(def.definition)) {
      if (!OPERATOR_POLICY_KEYS.has(key)) return `unknown operator policy key '${key}'`
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
        return `policy key '${key}' takes a non-negative integer`
      }
    }
    return undefined
  }
  for (const [key, value] of Object.entries(def.definition)) {
    const type = POLICY_KEYS.get(key)
    if (!type) return `unknown policy key '${key}'`
    if (typeof value !== type) return `policy key '${key}' takes a ${type}`
    // RabbitMQ: an expiry of 0 is refused (a queue would go at once); the rest may be 0. Any size is fine:
    // queue timers wait in steps (util/long-timer.ts)
    if (key === 'expires' && (!Number.isInteger(value) || (value as number) < 1)) {
      return `policy key '${key}' takes a positive integer`
    }
    if (type === 'number' && (!Number.isInteger(value) || (value as number) < 0)) {
      return `policy key '${key}' takes a non-negative integer`
    }
  }
  return undefined
}

/** The policy in force for an entity: the highest priority among those that match. */
export function effectivePolicy(
  policies: Iterable<Policy>,
  kind: 'queues' | 'exchanges',
  name: string,
): Policy | undefined {
  let best: Policy | undefined
  for (const p of policies) {
    if (p.appliesTo(kind, name) && (!best || p.def.priority > best.def.priority)) best = p
  }
  return best
}

/** A queue's user policy definition with the operator policy's limits: per key the smaller number applies */
export function mergeOperatorPolicy(user: FieldTable, operator: FieldTable): FieldTable {
  const merged: FieldTable = { ...user }
  for (const [key, value] of Object.entries(operator)) {
    const own = merged[key]
    merged[key] = typeof own === 'number' && typeof value === 'number' ? Math.min(own, value) : value
  }
  return merged
}
