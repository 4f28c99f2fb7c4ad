// Declare arguments: RabbitMQ's equivalence check on redeclare, with its wording of the 406 error.
import { preconditionFailed } from '../protocol/errors.js'
import {
  equivalentFieldValue,
  erlangFloat,
  fieldType,
  fieldTypeName,
  isFloatValue,
  plain,
  type FieldTable,
  type FieldValue,
} from '../protocol/field-value.js'

/** A value as RabbitMQ prints it in an inequivalent-arg text: a binary as its text, anything else with ~p. */
function shown(v: FieldValue): string {
  if (isFloatValue(v)) return erlangFloat(Number(plain(v)))
  const raw = plain(v)
  if (Buffer.isBuffer(raw)) return raw.toString('utf8')
  if (typeof raw === 'object' && raw !== null) {
    return JSON.stringify(raw, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))
  }
  return String(raw)
}

function describe(v: FieldValue | undefined): string {
  if (v === undefined) return 'none'
  return `the value '${shown(v)}' of type '${fieldTypeName(v)}'`
}

/** Arguments RabbitMQ compares when a queue is declared again. */
export const QUEUE_EQUIVALENCE_ARGS = [
  // RabbitMQ's order (rabbit_amqqueue:declare_args/0): with two differences, the first one is named
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-priority',
  'x-overflow',
  'x-queue-mode',
  'x-single-active-consumer',
  'x-queue-type',
]

/** Throws 406 when an argument that matters differs between the existing entity and the new declare. */
export function assertArgumentsEquivalent(
  current: FieldTable,
  received: FieldTable,
  keys: readonly string[],
  what: string,
): void {
  for (const key of keys) {
    const a = current[key]
    const b = received[key]
    if (a === undefined && b === undefined) continue
    if (a !== undefined && b !== undefined && equivalentFieldValue(a, b)) continue
    // An omitted x-queue-type means the default, classic
    if (key === 'x-queue-type' && (a ?? 'classic') === (b ?? 'classic')) continue
    // With both present RabbitMQ shows the two values; with one missing, the other's value and type
    const detail =
      a !== undefined && b !== undefined
        ? `received '${shown(b)}' but current is '${shown(a)}'`
        : `received ${describe(b)} but current is ${describe(a)}`
    throw preconditionFailed(`inequivalent arg '${key}' for ${what}: ${detail}`)
  }
}

/** For the plain flags: "received 'true' but current is 'false'". */
export function assertFlagEquivalent(
  name: string,
  current: boolean | string,
  received: boolean | string,
  what: string,
): void {
  if (current !== received) {
    throw preconditionFailed(
      `inequivalent arg '${name}' for ${what}: received '${received}' but current is '${current}'`,
    )
  }
}

type ArgCheck = (value: FieldValue, args: FieldTable) => string | undefined

const INTEGER_TYPES = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l'])

function integerArg(value: FieldValue): number | string {
  if (!INTEGER_TYPES.has(fieldType(value))) return `"expected integer, got ${fieldTypeName(value)}"`
  return Number(plain(value))
}

/** RabbitMQ's bound on TTLs and expiries (rabbit_misc:check_expiry): ten years, in milliseconds. */
export const MAX_EXPIRY_MS = 315_360_000_000

/** RabbitMQ's check_expiry, for x-expires, x-message-ttl and the expiration property: why n is refused. */
export function expiryError(n: number): string | undefined {
  if (n < 0) return `{value_negative,${n}}`
  return n > MAX_EXPIRY_MS ? `{value_too_large,${n}}` : undefined
}

const nonNegativeInteger: ArgCheck = (value) => {
  const n = integerArg(value)
  if (typeof n === 'string') return n
  return n < 0 ? `{value_negative,${n}}` : undefined
}

const stringArg: ArgCheck = (value) => {
  const type = fieldType(value)
  return type === 'S' || type === 'x' ? undefined : `{unacceptable_type,${fieldTypeName(value)}}`
}

/** An integer TTL or expiry: x-expires must also be positive (value_zero comes before the range check). */
const expiryArg =
  (positive: boolean): ArgCheck =>
  (value) => {
    const n = integerArg(value)
    if (typeof n === 'string') return n
    if (positive && n === 0) return '{value_zero,0}'
    return expiryError(n)
  }

/**
 * The queue arguments RabbitMQ validates on declare, and how. A Map: argument names are the client's, and
 * one named like an Object.prototype member ('constructor', 'hasOwnProperty') must find nothing here.
 */
const QUEUE_ARGUMENT_CHECKS = new Map<string, ArgCheck>([
  // in RabbitMQ's order (rabbit_amqqueue:declare_args/0): with two bad arguments, the first one is named
  ['x-expires', expiryArg(true)],
  ['x-message-ttl', expiryArg(false)],
  ['x-dead-letter-exchange', stringArg],
  [
    'x-dead-letter-routing-key',
    (value, args) =>
      stringArg(value, args) ??
      (args['x-dead-letter-exchange'] === undefined ? 'routing_key_but_no_dlx_defined' : undefined),
  ],
  ['x-max-length', nonNegativeInteger],
  ['x-max-length-bytes', nonNegativeInteger],
  [
    'x-max-priority',
    (value) => {
      const error = nonNegativeInteger(value, {})
      if (error) return error
      const n = Number(plain(value))
      return n > 255 ? `{max_value_exceeded,${n}}` : undefined
    },
  ],
  [
    'x-overflow',
    (value) => {
      const v = plain(value)
      const s = Buffer.isBuffer(v) ? v.toString() : v
      return s === 'drop-head' || s === 'reject-publish' || s === 'reject-publish-dlx' ? undefined : 'invalid_overflow'
    },
  ],
  [
    'x-single-active-consumer',
    (value) => (fieldType(value) === 't' ? undefined : `{unacceptable_type,${fieldTypeName(value)}}`),
  ],
])

/** 406 "invalid arg" for a queue argument of the wrong type or range, as RabbitMQ words it. */
export function validateQueueArguments(args: FieldTable, what: string): void {
  for (const [key, check] of QUEUE_ARGUMENT_CHECKS) {
    const value = args[key]
    if (value === undefined) continue
    const error = check(value, args)
    if (error) throw preconditionFailed(`invalid arg '${key}' for ${what}: ${error}`)
  }
}
