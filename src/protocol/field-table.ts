// Field tables with RabbitMQ's value types (the errata table that RabbitMQ, pika and amqplib use, not the
// 0-9-1 specification's): t b B s u I i l f d D S A T F V x.
//
// Decoding is lossless: a value comes back as a plain JS value when encoding that plain value again gives
// the same type (string → S, boolean → t, int32 → I, …), otherwise as a TypedValue that remembers its
// wire type, so headers that pass through the broker (dead-lettering, say) keep their exact types.
import { syntaxError } from './errors.js'
import { Reader } from './reader.js'
import { Writer } from './writer.js'

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

function plainOrTyped(type: FieldType, v: number | bigint | string | Buffer | Decimal): FieldValue {
  if (typeof v === 'object' && !Buffer.isBuffer(v)) return new TypedValue(type, v)
  return fieldType(v) === type ? v : new TypedValue(type, v)
}

export function decodeFieldValue(r: Reader): FieldValue {
  const type = String.fromCharCode(r.u8())
  switch (type) {
    case 't':
      return r.u8() !== 0
    case 'b':
      return plainOrTyped('b', r.bytes(1).readInt8(0))
    case 'B':
      return plainOrTyped('B', r.u8())
    case 's':
      return plainOrTyped('s', r.bytes(2).readInt16BE(0))
    case 'u':
      return plainOrTyped('u', r.u16())
    case 'I':
      return r.bytes(4).readInt32BE(0)
    case 'i':
      return plainOrTyped('i', r.u32())
    case 'l': {
      const big = r.bytes(8).readBigInt64BE(0)
      const n = Number(big)
      return plainOrTyped('l', Number.isSafeInteger(n) ? n : big)
    }
    case 'f':
      return plainOrTyped('f', r.bytes(4).readFloatBE(0))
    case 'd':
      return plainOrTyped('d', r.bytes(8).readDoubleBE(0))
    case 'D': {
      const scale = r.u8()
      return new TypedValue('D', { scale, value: r.bytes(4).readInt32BE(0) })
    }
    case 'S':
      return r.longstr().toString('utf8')
    case 'x':
      return Buffer.from(r.longstr())
    case 'T':
      return new TypedValue('T', r.u64())
    case 'V':
      return null
    case 'F':
      return nested(() => r.table())
    case 'A': {
      const len = r.u32()
      const end = r.pos + len
      if (end > r.end) throw syntaxError('field array runs past the end of its table')
      const sub = new Reader(r.buf, r.pos, end)
      r.pos = end
      return nested(() => {
        const items: FieldValue[] = []
        while (sub.pos < end) items.push(decodeFieldValue(sub))
        return items
      })
    }
    default:
      throw syntaxError(`unknown field table value type '${type}' (0x${type.charCodeAt(0).toString(16)})`)
  }
}

/** Hostile input may nest tables thousands deep; no real client nests more than a few levels. */
const MAX_NESTING = 64
let nesting = 0
function nested<T>(decode: () => T): T {
  if (++nesting > MAX_NESTING) {
    nesting = 0
    throw syntaxError(`field tables nested deeper than ${MAX_NESTING} levels`)
  }
  try {
    return decode()
  } finally {
    if (nesting > 0) nesting--
  }
}

function writeValue(w: Writer, v: FieldValue): void {
  const type = fieldType(v)
  const raw = v instanceof TypedValue ? v.value : v
  w.u8(type.charCodeAt(0))
  switch (type) {
    case 't':
      return w.u8(raw ? 1 : 0)
    case 'b':
      w.ensure(1)
      w.buf.writeInt8(Number(raw), w.pos)
      w.pos += 1
      return
    case 'B':
      return w.u8(Number(raw) & 0xff)
    case 's':
      w.ensure(2)
      w.buf.writeInt16BE(Number(raw), w.pos)
      w.pos += 2
      return
    case 'u':
      return w.u16(Number(raw) & 0xffff)
    case 'I':
      w.ensure(4)
      w.buf.writeInt32BE(Number(raw), w.pos)
      w.pos += 4
      return
    case 'i':
      return w.u32(Number(raw) >>> 0)
    case 'l':
      w.ensure(8)
      w.buf.writeBigInt64BE(BigInt(raw as number | bigint), w.pos)
      w.pos += 8
      return
    case 'f':
      w.ensure(4)
      w.buf.writeFloatBE(Number(raw), w.pos)
      w.pos += 4
      return
    case 'd':
      w.ensure(8)
      w.buf.writeDoubleBE(Number(raw), w.pos)
      w.pos += 8
      return
    case 'D': {
      const d = raw as Decimal
      w.u8(d.scale)
      w.ensure(4)
      w.buf.writeInt32BE(d.value, w.pos)
      w.pos += 4
      return
    }
    case 'S':
    case 'x':
      return w.longstr(raw as string | Buffer)
    case 'T':
      return w.u64(Number(raw))
    case 'V':
      return
    case 'F':
      return writeTableBody(w, raw as FieldTable)
    case 'A': {
      const lenAt = w.pos
      w.u32(0)
      for (const item of raw as FieldValue[]) writeValue(w, item)
      w.buf.writeUInt32BE(w.pos - lenAt - 4, lenAt)
      return
    }
  }
}

/** Length-prefixed table into a standalone writer (whose offsets never move). */
function writeTableBody(w: Writer, t: FieldTable): void {
  const lenAt = w.pos
  w.u32(0)
  for (const key in t) {
    const v = t[key]
    if (v === undefined) continue
    w.shortstr(key)
    writeValue(w, v)
  }
  w.buf.writeUInt32BE(w.pos - lenAt - 4, lenAt)
}

/** Made on first use: writer.ts and this module import each other, so nothing runs at load time. */
let scratch: Writer | undefined

/** The wire bytes of a table, length prefix included: a view that is valid until the next call. */
export function encodeTable(t: FieldTable): Buffer {
  scratch ??= new Writer(4096, true)
  scratch.reset()
  writeTableBody(scratch, t)
  return scratch.view()
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
