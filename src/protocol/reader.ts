// Reads AMQP primitives from a frame payload. Running past the end is a malformed frame (501). Field tables
// are read by field-table.ts (readTable), which builds on this. A connection reuses one Reader for all its
// frames (reset), so that reading a frame allocates nothing of its own.
import { isUtf8 } from 'node:buffer'
import { frameError } from './errors.js'

export class Reader {
  pos: number
  constructor(
    public buf: Buffer,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start
  }

  /** Reads buf[start, end) from now on. */
  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf
    this.pos = start
    this.end = end
  }

  /** Moves past n bytes; returns where they start. */
  skip(n: number): number {
    const p = this.pos
    if (p + n > this.end) throw frameError(`frame payload ends early: needs ${p + n - this.end} more bytes`)
    this.pos = p + n
    return p
  }

  u8(): number {
    return this.buf[this.skip(1)]!
  }
  u16(): number {
    const p = this.skip(2)
    return (this.buf[p]! << 8) | this.buf[p + 1]!
  }
  u32(): number {
    return this.buf.readUInt32BE(this.skip(4))
  }
  /** 64-bit unsigned as a number: delivery tags and body sizes stay far below 2^53. */
  u64(): number {
    const p = this.skip(8)
    return this.buf.readUInt32BE(p) * 0x1_0000_0000 + this.buf.readUInt32BE(p + 4)
  }
  /** Short strings name queues, exchanges and tags: like RabbitMQ, malformed UTF-8 is a frame error. */
  shortstr(): string {
    const len = this.u8()
    const p = this.skip(len)
    const buf = this.buf
    for (let i = p; i < p + len; i++) {
      if (buf[i]! >= 0x80) {
        if (!isUtf8(buf.subarray(p, p + len))) throw frameError('malformed UTF-8 in a short string')
        break
      }
    }
    return buf.toString('utf8', p, p + len)
  }
  longstr(): Buffer {
    const len = this.u32()
    const p = this.skip(len)
    return this.buf.subarray(p, p + len)
  }
  bytes(n: number): Buffer {
    const p = this.skip(n)
    return this.buf.subarray(p, p + n)
  }
}

const EMPTY_SHORTSTR = Buffer.from([0])

/**
 * The last short string read at one place of a stream, such as a publisher's exchange and routing key, which
 * usually repeat from one message to the next: when the same bytes come again, the same string is returned
 * (not decoded again, and its hash is already known to the Maps it is looked up in), and the same wire bytes
 * (length octet and string) can be written out again without encoding it.
 */
export class ShortStringCache {
  value = ''
  /** value as on the wire: its length octet, then its bytes. Never written to: messages share it */
  wire: Buffer = EMPTY_SHORTSTR

  read(r: Reader): string {
    const start = r.pos
    const len = r.u8()
    const p = r.skip(len)
    const wire = this.wire
    if (wire.length === len + 1) {
      const buf = r.buf
      let i = 0
      while (i < len && buf[p + i] === wire[i + 1]) i++
      if (i === len) return this.value
    }
    r.pos = start
    const value = r.shortstr()
    const copy = Buffer.allocUnsafe(len + 1)
    r.buf.copy(copy, 0, start, start + len + 1)
    this.wire = copy
    this.value = value
    return value
  }
}

/** Whether buf[start, end) holds the same bytes as `other` (a loop: the slices compared are short). */
export function equalBytes(buf: Buffer, start: number, end: number, other: Buffer): boolean {
  const n = end - start
  if (other.length !== n) return false
  for (let i = 0; i < n; i++) if (buf[start + i] !== other[i]) return false
  return true
}

/** A copy of buf[start, end) that keeps nothing of buf alive; a loop for a few bytes, where a native copy costs more. */
export function copyBytes(buf: Buffer, start: number, end: number): Buffer {
  const n = end - start
  const out = Buffer.allocUnsafe(n)
  if (n <= 32) for (let i = 0; i < n; i++) out[i] = buf[start + i]!
  else buf.copy(out, 0, start, end)
  return out
}
