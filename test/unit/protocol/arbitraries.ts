// fast-check arbitraries for the AMQP codec, shared by the protocol unit tests and the fuzz tests.
//
// Values are generated in their canonical decoded form (what the decoder gives back), so a round trip
// can be checked with a plain deepStrictEqual: a field-table value comes back as a plain JS value when
// that value's default type is its wire type, and as a TypedValue otherwise.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { TypedValue, type FieldTable, type FieldValue } from '../../../src/protocol/field-value.js'
import type { Method, MethodName } from '../../../src/protocol/generated/methods.js'
import type { BasicProperties } from '../../../src/protocol/generated/properties.js'

// ---------------------------------------------------------------------------------------------------------
// The protocol description the codec is generated from

export type WireType = 'octet' | 'short' | 'long' | 'longlong' | 'bit' | 'shortstr' | 'longstr' | 'timestamp' | 'table'

export interface SpecMethod {
  name: string
  id: number
  response?: string
  content?: boolean
  fields: [string, WireType][]
}

export interface SpecClass {
  name: string
  id: number
  methods: SpecMethod[]
  properties?: [string, WireType][]
}

export interface Spec {
  frameEnd: number
  frameMinSize: number
  frameTypes: Record<string, number>
  classes: SpecClass[]
}

/** Finds src/protocol/spec/amqp-0-9-1.json from the test file, whether it runs from dist/ or from test/. */
function specPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'src', 'protocol', 'spec', 'amqp-0-9-1.json')
    if (existsSync(candidate) && existsSync(join(dir, 'package.json'))) return candidate
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find src/protocol/spec/amqp-0-9-1.json')
    dir = up
  }
}

export const SPEC: Spec = JSON.parse(readFileSync(specPath(), 'utf8')) as Spec

/** 'reply-code' → 'replyCode', as the generator names fields. */
export function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

export interface MethodSpec {
  name: MethodName
  classId: number
  methodId: number
  response: MethodName | undefined
  content: boolean
  fields: { key: string; type: WireType }[]
}

/** Every method of the description, with its full name and camelCase field names. */
export const METHOD_SPECS: MethodSpec[] = SPEC.classes.flatMap((c) =>
  c.methods.map((m) => ({
    name: `${c.name}.${m.name}` as MethodName,
    classId: c.id,
    methodId: m.id,
    response: m.response === undefined ? undefined : (`${c.name}.${m.response}` as MethodName),
    content: m.content === true,
    fields: m.fields.map(([n, t]) => ({ key: camel(n), type: t })),
  })),
)

// ---------------------------------------------------------------------------------------------------------
// Primitives

/** UTF-8 text (no lone surrogates), so it survives encode → bytes → decode unchanged. */
export const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

/** A shortstr: any UTF-8 text of at most 255 bytes, with the 255-byte edge well represented. */
export const shortstr: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: text(63) }, // 63 code points of at most 4 bytes: never over 252 bytes
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 240, maxLength: 255 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'a', 'x'.repeat(255), '€'.repeat(85), '😀'.repeat(63) + 'abc') },
)

export const octet = fc.integer({ min: 0, max: 0xff })
export const short = fc.integer({ min: 0, max: 0xffff })
export const long = fc.integer({ min: 0, max: 0xffff_ffff })
/** longlong: delivery tags and sizes are numbers, exact below 2^53. */
export const longlong: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.maxSafeNat(),
  fc.constantFrom(0, 1, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER),
)
export const bytes = (maxLength = 300): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a))

// ---------------------------------------------------------------------------------------------------------
// Field tables

/** A 64-bit signed value as the decoder returns it: an int32 stays typed, a safe integer is a plain
 *  number (its default type is 'l'), anything larger is a bigint. */
export function canonicalLong(v: bigint): FieldValue {
  const n = Number(v)
  if (!Number.isSafeInteger(n)) return v
  return n >= -0x8000_0000 && n <= 0x7fff_ffff ? new TypedValue('l', n) : n
}

/** A double as the decoder returns it: integral values that fit a signed 64-bit integer would be written as
 *  integers, so they stay typed; beyond that range a plain number is written as a double anyway. */
export function canonicalDouble(v: number): FieldValue {
  return Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 63 ? new TypedValue('d', v) : v
}

/** Gives a decoded table's shape (null prototype) to a generated dictionary. */
export function nullProto(entries: Record<string, FieldValue>): FieldTable {
  return Object.assign(Object.create(null) as FieldTable, entries)
}

/** One value of every wire type but the containers (F, A). */
export const leafValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.boolean(), // t
  fc.integer({ min: -128, max: 127 }).map((v) => new TypedValue('b', v)),
  fc.integer({ min: 0, max: 255 }).map((v) => new TypedValue('B', v)),
  fc.integer({ min: -0x8000, max: 0x7fff }).map((v) => new TypedValue('s', v)),
  fc.integer({ min: 0, max: 0xffff }).map((v) => new TypedValue('u', v)),
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }), // I
  fc.integer({ min: 0, max: 0xffff_ffff }).map((v) => new TypedValue('i', v)),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(canonicalLong), // l
  fc.float().map((v) => new TypedValue('f', v)),
  fc.double().map(canonicalDouble), // d
  fc
    .record(
      { scale: fc.integer({ min: 0, max: 255 }), value: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }) },
      { noNullPrototype: true },
    )
    .map((d) => new TypedValue('D', d)),
  text(40), // S
  bytes(40), // x
  fc.maxSafeNat().map((v) => new TypedValue('T', v)),
  fc.constant(null), // V
)

/** Table keys: mostly short, sometimes the full 255 bytes. */
export const tableKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: text(12) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 255, maxLength: 255 }) },
)

const containers = fc.letrec<{ value: FieldValue; table: FieldTable; array: FieldValue[] }>((tie) => ({
  value: fc.oneof({ maxDepth: 3, depthIdentifier: 'field-value' }, leafValue, tie('table'), tie('array')),
  table: fc.dictionary(tableKey, tie('value'), { maxKeys: 5 }).map(nullProto),
  array: fc.array(tie('value'), { maxLength: 5, depthIdentifier: 'field-value' }),
}))

export const fieldValue: fc.Arbitrary<FieldValue> = containers.value
export const fieldTable: fc.Arbitrary<FieldTable> = containers.table

// ---------------------------------------------------------------------------------------------------------
// Methods and properties

export function valueOf(type: WireType): fc.Arbitrary<unknown> {
  switch (type) {
    case 'octet':
      return octet
    case 'short':
      return short
    case 'long':
      return long
    case 'longlong':
    case 'timestamp':
      return longlong
    case 'bit':
      return fc.boolean()
    case 'shortstr':
      return shortstr
    case 'longstr':
      return bytes()
    case 'table':
      return fieldTable
  }
}

const methodArbs = new Map<MethodName, fc.Arbitrary<Method>>()

/** Arbitrary values for every field of one method, in its decoded form. */
export function methodOf(name: MethodName): fc.Arbitrary<Method> {
  let arb = methodArbs.get(name)
  if (!arb) {
    const spec = METHOD_SPECS.find((m) => m.name === name)
    if (!spec) throw new Error(`no method ${name} in the description`)
    const model: Record<string, fc.Arbitrary<unknown>> = {}
    for (const f of spec.fields) model[f.key] = valueOf(f.type)
    arb = fc.record(model).map((fields) => ({ name, ...fields }) as Method)
    methodArbs.set(name, arb)
  }
  return arb
}

/** Any method of the protocol, with arbitrary field values. */
export const anyMethod: fc.Arbitrary<Method> = fc.constantFrom(...METHOD_SPECS.map((m) => m.name)).chain(methodOf)

export const channelId = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffff }))

/** Basic properties, each of the 14 present or absent independently. */
export const basicProperties: fc.Arbitrary<BasicProperties> = fc.record(
  {
    contentType: shortstr,
    contentEncoding: shortstr,
    headers: fieldTable,
    deliveryMode: octet,
    priority: octet,
    correlationId: shortstr,
    replyTo: shortstr,
    expiration: shortstr,
    messageId: shortstr,
    timestamp: longlong,
    type: shortstr,
    userId: shortstr,
    appId: shortstr,
    clusterId: shortstr,
  },
  { requiredKeys: [], noNullPrototype: true },
)
