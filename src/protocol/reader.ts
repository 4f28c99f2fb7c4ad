// Reads AMQP primitives from a frame payload. Running past the end is a malformed frame (501). Field tables
// are read by field-table.ts (readTable), which builds on this.
import { isUtf8 } from 'node:buffer'
import { frameError } from './errors.js'

export class Reader {
  pos: number
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start
  }

  private need(n: number): number {
    const p = this.pos
    if (p + n > this.end) throw frameError(`frame payload ends early: needs ${p + n - this.end} more bytes`)
    this.pos = p + n
    return p
  }

  u8(): number {
    return this.buf[this.need(1)]!
  }
  u16(): number {
    return this.buf.readUInt16BE(this.need(2))
  }
  u32(): number {
    return this.buf.readUInt32BE(this.need(4))
  }
  /** 64-bit unsigned as a number: delivery tags and body sizes stay far below 2^53. */
  u64(): number {
    const p = this.need(8)
    return this.buf.readUInt32BE(p) * 0x1_0000_0000 + this.buf.readUInt32BE(p + 4)
  }
  /** Short strings name queues, exchanges and tags: like RabbitMQ, malformed UTF-8 is a frame error. */
  shortstr(): string {
    const len = this.u8()
    const p = this.need(len)
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
    const p = this.need(len)
    return this.buf.subarray(p, p + len)
  }
  bytes(n: number): Buffer {
    const p = this.need(n)
    return this.buf.subarray(p, p + n)
  }
}
