// The field-table codec, one layer above the primitives of reader.ts and writer.ts (which know nothing of
// tables) and below the generated method codec. What a value is lives in field-value.ts.
//
// Decoding is lossless: a value comes back as a plain JS value when encoding that plain value again gives
// the same type (string → S, boolean → t, int32 → I, …), otherwise as a TypedValue that remembers its
// wire type, so headers that pass through the broker (dead-lettering, say) keep their exact types.
import { syntaxError } from './errors.js'
import { TypedValue, fieldType, type Decimal, type FieldTable, type FieldType, type FieldValue } from './field-value.js'
import { Reader } from './reader.js'
import { Writer } from './writer.js'

/** A length-prefixed table at the reader's position. */
export function readTable(r: Reader): FieldTable {
  const len = r.u32()
  const start = r.pos
  r.bytes(len) // a table running past the end of its frame is a frame error, as any other field is
  const inner = new Reader(r.buf, start, start + len)
  const table: FieldTable = Object.create(null) as FieldTable
  while (inner.pos < inner.end) {
    const key = inner.shortstr()
    table[key] = decodeFieldValue(inner)
  }
  return table
}

/** A length-prefixed table at the writer's position; undefined is written as the empty table. */
export function writeTable(w: Writer, t: FieldTable | undefined): void {
  if (t === undefined) return w.u32(0)
  w.raw(encodeTable(t))
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
      return nested(() => readTable(r))
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

/** Shared by every encodeTable() call: tables are encoded one at a time, and copied out at once. */
const scratch = new Writer(4096, true)

/** The wire bytes of a table, length prefix included: a view that is valid until the next call. */
export function encodeTable(t: FieldTable): Buffer {
  scratch.reset()
  writeTableBody(scratch, t)
  return scratch.view()
}
