// Splits a byte stream into AMQP frames. Whole frames inside a chunk are passed on as the chunk and the
// payload's offsets in it (no copy, and no Buffer view per frame: making one costs more than parsing a small
// frame); only a frame that straddles chunks is assembled in a buffer of its own, allocated once its size is
// known and checked against frame_max, so a hostile size never makes us allocate.
import { frameError } from './errors.js'
import { FRAME_END } from './writer.js'

/** A frame: its type, channel and payload, which is buf[start, end) (valid after the call too: never reused). */
export type FrameHandler = (type: number, channel: number, buf: Buffer, start: number, end: number) => void

const HEADER_SIZE = 7

export class FrameParser {
  /** Largest payload accepted: frame_max less header and end octet. */
  maxPayload: number
  /** Bytes of a frame header that straddles chunks. */
  private header = Buffer.alloc(HEADER_SIZE)
  private headerFill = 0
  /** The frame being assembled across chunks: header + payload + end octet. */
  private partial: Buffer | null = null
  private partialFill = 0

  constructor(
    private readonly onFrame: FrameHandler,
    frameMax: number,
  ) {
    this.maxPayload = frameMax - 8
  }

  push(chunk: Buffer): void {
    let off = 0
    if (this.headerFill > 0 || this.partial) {
      off = this.continuePartial(chunk)
      if (off < 0) return
    }
    const len = chunk.length
    while (len - off >= HEADER_SIZE) {
      const size = chunk[off + 3]! * 0x100_0000 + ((chunk[off + 4]! << 16) | (chunk[off + 5]! << 8) | chunk[off + 6]!)
      this.checkSize(size)
      const end = off + HEADER_SIZE + size
      if (end >= len) break
      if (chunk[end] !== FRAME_END) throw frameError(`invalid frame end octet 0x${chunk[end]!.toString(16)}`)
      this.onFrame(chunk[off]!, (chunk[off + 1]! << 8) | chunk[off + 2]!, chunk, off + HEADER_SIZE, end)
      off = end + 1
    }
    if (off < len) this.startPartial(chunk, off)
  }

  private checkSize(size: number): void {
    if (size > this.maxPayload) {
      throw frameError(`frame size ${size + 8} exceeds frame_max ${this.maxPayload + 8}`)
    }
  }

  private startPartial(chunk: Buffer, off: number): void {
    const avail = chunk.length - off
    if (avail < HEADER_SIZE) {
      chunk.copy(this.header, 0, off)
      this.headerFill = avail
      return
    }
    const size = chunk.readUInt32BE(off + 3)
    this.partial = Buffer.allocUnsafe(HEADER_SIZE + size + 1)
    this.partialFill = chunk.copy(this.partial, 0, off)
  }

  /** Completes a straddling frame; returns the offset in chunk after it, or -1 if chunk was used up. */
  private continuePartial(chunk: Buffer): number {
    let off = 0
    if (this.headerFill > 0) {
      const n = Math.min(HEADER_SIZE - this.headerFill, chunk.length)
      chunk.copy(this.header, this.headerFill, 0, n)
      this.headerFill += n
      off = n
      if (this.headerFill < HEADER_SIZE) return -1
      const size = this.header.readUInt32BE(3)
      this.checkSize(size)
      this.partial = Buffer.allocUnsafe(HEADER_SIZE + size + 1)
      this.header.copy(this.partial)
      this.partialFill = HEADER_SIZE
      this.headerFill = 0
    }
    const frame = this.partial!
    const n = chunk.copy(frame, this.partialFill, off)
    this.partialFill += n
    off += n
    if (this.partialFill < frame.length) return -1
    this.partial = null
    const end = frame.length - 1
    if (frame[end] !== FRAME_END) throw frameError(`invalid frame end octet 0x${frame[end]!.toString(16)}`)
    this.onFrame(frame[0]!, frame.readUInt16BE(1), frame, HEADER_SIZE, end)
    return off < chunk.length ? off : -1
  }
}

/** A FrameHandler for code that wants each payload as a Buffer (a view of the chunk): tests and tools. */
export function withPayload(handler: (type: number, channel: number, payload: Buffer) => void): FrameHandler {
  return (type, channel, buf, start, end) => handler(type, channel, buf.subarray(start, end))
}
