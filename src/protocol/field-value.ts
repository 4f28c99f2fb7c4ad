// What a field-table value is, and how RabbitMQ sees one: its type names, and the two ways it compares two
// values. No wire code lives here (that is field-table.ts), so every layer can depend on this module.
//
// Types are RabbitMQ's (the errata table that RabbitMQ, pika and amqplib use, not the 0-9-1 specification's):
// t b B s u I i l f d D S A T F V x. A decoded value is a plain JS value when encoding that plain value again
// gives the same type (string → S, boolean → t, int32 → I, …), otherwise a TypedValue that remembers its
// wire type, so headers that pass through the broker (dead-lettering, say) keep their exact types.

export type FieldType =
  't' | 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'l' | 'f' | 'd' | 'D' | 'S' | 'A' | 'T' | 'F' | 'V' | 'x'

export class TypedValue {
  constructor(
    readonly type: FieldType,
    readonly value: number | bigint | string | Buffer | Decimal,
  ) {}
}

export interface Decimal {
  scale: number
  value: number
}

export type FieldValue =
  string | number | bigint | boolean | null | Buffer | TypedValue | FieldValue[] | { [key: string]: FieldValue }
export type FieldTable = { [key: string]: FieldValue }

/** The wire type of a value: its TypedValue's, or the type a plain value is written as. */
export function fieldType(v: FieldValue): FieldType {
  switch (typeof v) {
    case 'string':
      return 'S'
    case 'boolean':
      return 't'
    case 'bigint':
      return 'l'
    case 'number':
      if (Number.isInteger(v)) {
        if (v >= -0x8000_0000 && v <= 0x7fff_ffff) return 'I'
        // Beyond a signed 64-bit integer only a double can carry it
        if (v >= -(2 ** 63) && v < 2 ** 63) return 'l'
      }
      return 'd'
    default:
      if (v === null) return 'V'
      if (v instanceof TypedValue) return v.type
      if (Buffer.isBuffer(v)) return 'x'
      if (Array.isArray(v)) return 'A'
      return 'F'
  }
}

/** The value without its wire type: a TypedValue's content, any other value as it is (64-bit stays bigint). */
export function plain(v: FieldValue): Exclude<FieldValue, TypedValue> | Decimal {
  return v instanceof TypedValue ? v.value : v
}

const TYPE_NAMES: Record<FieldType, string> = {
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

/** RabbitMQ's name for a value's field type: 'longstr', 'signedint', 'byte'... */
export function fieldTypeName(v: FieldValue): string {
  return TYPE_NAMES[fieldType(v)]
}

const FLOAT_TYPES: ReadonlySet<FieldType> = new Set(['f', 'd'])

/** True for a float or double: RabbitMQ holds these as Erlang floats, every other number as an integer. */
export function isFloatValue(v: FieldValue): boolean {
  return FLOAT_TYPES.has(fieldType(v))
}

// RabbitMQ decodes a table into Erlang terms and compares those: integers of every width and timestamps
// become integers, float and double become floats, longstr and binary both become binaries, a decimal a
// {Scale, Value} pair, an array a list of {Type, Value} and a table a list of {Key, Type, Value} in wire
// order. So at the top level only the value counts, while inside arrays and tables each type counts too.

/**
 * RabbitMQ's header match (rabbit_exchange_type_headers: PV == DV): Erlang's ==, under which the integer
 * 1000 equals the float 1000.0 and the longstr "a" equals the binary "a".
 */
export function sameFieldValue(a: FieldValue, b: FieldValue): boolean {
  return termsEqual(a, b, false)
}

/**
 * RabbitMQ's argument equivalence on redeclare (rabbit_misc:assert_args_equivalence): Erlang's exact =:=,
 * which tells the integer 1000 from the float 1000.0 but, like ==, not a longstr from a binary.
 */
export function equivalentFieldValue(a: FieldValue, b: FieldValue): boolean {
  return termsEqual(a, b, true)
}

function termsEqual(a: FieldValue, b: FieldValue, exact: boolean): boolean {
  const ta = fieldType(a)
  const tb = fieldType(b)
  const x = plain(a)
  const y = plain(b)
  // a decimal is a {Scale, Value} pair, never equal to a number
  if (ta === 'D' || tb === 'D') return ta === tb && sameDecimal(x as Decimal, y as Decimal)
  if (isNumber(x) && isNumber(y)) {
    if (exact && FLOAT_TYPES.has(ta) !== FLOAT_TYPES.has(tb)) return false
    return sameNumber(x, y)
  }
  if (isBinary(x) && isBinary(y)) return binary(x).equals(binary(y))
  if (Array.isArray(x) && Array.isArray(y)) {
    return x.length === y.length && x.every((item, i) => elementsEqual(item, y[i]!, exact))
  }
  if (isTable(x) && isTable(y)) {
    const keys = Object.keys(x)
    const otherKeys = Object.keys(y)
    return (
      keys.length === otherKeys.length &&
      keys.every((key, i) => key === otherKeys[i] && elementsEqual(x[key]!, y[key]!, exact))
    )
  }
  // booleans and void: only the same value (true is not 1, void is only void)
  return x === y
}

/** Inside an array or a table RabbitMQ keeps {Type, Value}: the types must be the very same. */
function elementsEqual(a: FieldValue, b: FieldValue, exact: boolean): boolean {
  return fieldType(a) === fieldType(b) && termsEqual(a, b, exact)
}

function isNumber(v: unknown): v is number | bigint {
  return typeof v === 'number' || typeof v === 'bigint'
}

function isBinary(v: unknown): v is string | Buffer {
  return typeof v === 'string' || Buffer.isBuffer(v)
}

function binary(v: string | Buffer): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v
}

function sameDecimal(x: Decimal, y: Decimal): boolean {
  return x.scale === y.scale && x.value === y.value
}

/** By mathematical value, exactly even past 2^53 (a 64-bit integer may arrive as a bigint). */
function sameNumber(x: number | bigint, y: number | bigint): boolean {
  if (typeof x === 'number' && typeof y === 'number') return x === y
  if (!Number.isInteger(Number(x)) || !Number.isInteger(Number(y))) return false
  return BigInt(x) === BigInt(y)
}

function isTable(v: unknown): v is FieldTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}

/**
 * A float as Erlang prints it (io_lib ~p: the shortest digits that read back, then whichever of plain and
 * exponent notation is shorter): 1000.0 is "1.0e3", 100.0 is "100.0", 0.0001 is "0.0001", 1.0e-5 is "1.0e-5".
 */
export function erlangFloat(n: number): string {
  if (!Number.isFinite(n)) return String(n) // Erlang has no such floats; RabbitMQ never shows one
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0'
  if (n < 0) return '-' + erlangFloat(-n)
  const [mantissa, exponent] = n.toExponential().split('e') as [string, string]
  const digits = mantissa.replace('.', '')
  const place = Number(exponent) + 1 // digits are 0.DIGITS × 10^place
  const length = digits.length
  if (place > 0 && place < length) return `${digits.slice(0, place)}.${digits.slice(place)}`
  if (place === 0) return `0.${digits}`
  const exponentText = String(place - 1)
  const withExponent = length === 1 ? `${digits}.0e${exponentText}` : `${digits[0]}.${digits.slice(1)}e${exponentText}`
  const expCost = exponentText.length + 1 + (length === 1 ? 2 : 1)
  if (place < 0) return 2 - place <= expCost ? `0.${'0'.repeat(-place)}${digits}` : withExponent
  return place - length + 2 <= expCost ? `${digits}${'0'.repeat(place - length)}.0` : withExponent
}

/** A table value as a number, whatever integer or float type it was sent as; undefined when not numeric. */
export function fieldNumber(v: FieldValue | undefined): number | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof TypedValue && (typeof v.value === 'number' || typeof v.value === 'bigint')) return Number(v.value)
  return undefined
}

/** The string elements of an array value, such as the CC and BCC headers; [] when not an array. */
export function routingKeysOf(value: FieldValue | undefined): string[] {
  if (!Array.isArray(value)) return []
  const keys: string[] = []
  for (const v of value) {
    const s = fieldString(v)
    if (s !== undefined) keys.push(s)
  }
  return keys
}

/** A table value as a string (longstr values may arrive as byte arrays); undefined when not a string. */
export function fieldString(v: FieldValue | undefined): string | undefined {
  if (typeof v === 'string') return v
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  if (v instanceof TypedValue && typeof v.value === 'string') return v.value
  return undefined
}
