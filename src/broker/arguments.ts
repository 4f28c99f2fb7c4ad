// Declare arguments: RabbitMQ's equivalence check on redeclare, with its wording of the 406 error.
import { preconditionFailed } from '../protocol/errors.js'
import { TypedValue, type FieldTable, type FieldValue } from '../protocol/field-table.js'

const TYPE_NAMES: Record<string, string> = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
  x: 'binary',
}
const NUMERIC = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l', 'f', 'd'])

function typeOf(v: FieldValue): string {
  if (v instanceof TypedValue) return v.type
  switch (typeof v) {
    case 'string':
      return 'S'
    case 'boolean':
      return 't'
    case 'bigint':
      return 'l'
    case 'number':
      return Number.isInteger(v) ? (Math.abs(v) <= 0x7fff_ffff ? 'I' : 'l') : 'd'
  }
  if (v === null) return 'V'
  if (Buffer.isBuffer(v)) return 'x'
  return Array.isArray(v) ? 'A' : 'F'
}

function plain(v: FieldValue): unknown {
  const raw = v instanceof TypedValue ? v.value : v
  return typeof raw === 'bigint' ? Number(raw) : raw
}

function equivalent(a: FieldValue, b: FieldValue): boolean {
  const ta = typeOf(a)
  const tb = typeOf(b)
  const compatible = ta === tb || (NUMERIC.has(ta) && NUMERIC.has(tb))
  if (!compatible) return false
  const x = plain(a)
  const y = plain(b)
  if (typeof x === 'object' || typeof y === 'object') return JSON.stringify(x) === JSON.stringify(y)
  return x === y
}

function describe(v: FieldValue | undefined): string {
  if (v === undefined) return 'none'
  const raw = plain(v)
  const shown = Buffer.isBuffer(raw)
    ? raw.toString('utf8')
    : typeof raw === 'object'
      ? JSON.stringify(raw)
      : String(raw)
  return `the value '${shown}' of type '${TYPE_NAMES[typeOf(v)]}'`
}

/** Arguments RabbitMQ compares when a queue is declared again. */
export const QUEUE_EQUIVALENCE_ARGS = [
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-expires',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-priority',
  'x-message-ttl',
  'x-overflow',
  'x-queue-mode',
  'x-queue-type',
  'x-single-active-consumer',
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
    if (a !== undefined && b !== undefined && equivalent(a, b)) continue
    // An omitted x-queue-type means the default, classic
    if (key === 'x-queue-type' && (a ?? 'classic') === (b ?? 'classic')) continue
    throw preconditionFailed(
      `inequivalent arg '${key}' for ${what}: received ${describe(b)} but current is ${describe(a)}`,
    )
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
