// Encodes AMQP frames into pooled buffers without a promise or a copy per frame: small frames are packed
// one after another into a large buffer, large bodies are passed through as the caller's Buffer (zero
// copy), and the connection takes the whole batch with take() once per turn of the event loop. Field tables
// are written by field-table.ts (writeTable), which builds on this.
//
// Pool buffers are written over again once whoever took their bytes is done with them (release(): a socket
// that copied everything into the kernel): a connection streaming deliveries then cycles through a few
// buffers that stay in the CPU's cache, instead of allocating (and later collecting) a new 64 KiB buffer for
// every 64 KiB it sends, each one cold memory for the copies into it and for the kernel's copy out of it.

const POOL_SIZE = 64 * 1024
/** Pool buffers kept for reuse after release(), at most (the rest are left to the garbage collector). */
const MAX_SPARE = 4
/** Bodies up to this size are copied next to their frame header; larger ones are sent as they are. */
const COPY_MAX = 4096

export const FRAME_METHOD = 1
export const FRAME_HEADER = 2
export const FRAME_BODY = 3
export const FRAME_HEARTBEAT = 8
export const FRAME_END = 0xce

export class Writer {
  buf: Buffer
  pos = 0
  /** Start of the frame being written (its bytes move along when the pool grows); -1 between frames. */
  private frameStart: number
  /** First byte not yet handed out by take(). */
  private regionStart = 0
  private chunks: Buffer[] = []
  private chunkBytes = 0
  /** Earlier pool buffers (full, or left by grow) whose bytes were handed out; free again after release(). */
  private retired: Buffer[] = []
  /** Pool buffers free to be written over */
  private spare: Buffer[] = []

  /** standalone: one growing buffer whose whole content is kept together (for tables, properties). */
  constructor(
    size = POOL_SIZE,
    private readonly standalone = false,
  ) {
    this.buf = Buffer.allocUnsafeSlow(size)
    this.frameStart = standalone ? 0 : -1
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n)
  }

  private grow(n: number): void {
    const keepFrom = this.frameStart >= 0 ? this.frameStart : this.pos
    if (keepFrom > this.regionStart) this.handOut(this.buf.subarray(this.regionStart, keepFrom))
    const carry = this.pos - keepFrom
    let next: Buffer
    if (this.standalone) next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, carry + n))
    else {
      if (this.buf.length === POOL_SIZE && this.retired.length < MAX_SPARE) this.retired.push(this.buf)
      next =
        carry + n <= POOL_SIZE && this.spare.length > 0
          ? this.spare.pop()!
          : Buffer.allocUnsafeSlow(Math.max(POOL_SIZE, carry + n))
    }
    this.buf.copy(next, 0, keepFrom, this.pos)
    this.buf = next
    this.pos = carry
    this.regionStart = 0
    if (this.frameStart >= 0) this.frameStart = 0
  }

  private handOut(chunk: Buffer): void {
    this.chunks.push(chunk)
    this.chunkBytes += chunk.length
  }

  u8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }
  // Integers are stored byte by byte: Buffer's writeUInt*BE check their arguments first, which costs more here
  u16(v: number): void {
    this.ensure(2)
    const buf = this.buf
    const p = this.pos
    buf[p] = v >>> 8
    buf[p + 1] = v
    this.pos = p + 2
  }
  u32(v: number): void {
    this.ensure(4)
    const buf = this.buf
    const p = this.pos
    buf[p] = v >>> 24
    buf[p + 1] = v >>> 16
    buf[p + 2] = v >>> 8
    buf[p + 3] = v
    this.pos = p + 4
  }
  u64(v: number): void {
    const high = Math.floor(v / 0x1_0000_0000)
    this.u32(high)
    this.u32(v >>> 0)
  }
  shortstr(s: string): void {
    const len = Buffer.byteLength(s)
    if (len > 255) throw new RangeError(`shortstr longer than 255 bytes: ${s.slice(0, 40)}…`)
    this.ensure(1 + len)
    this.buf[this.pos] = len
    this.buf.write(s, this.pos + 1, 'utf8')
    this.pos += 1 + len
  }
  longstr(v: Buffer | string): void {
    const len = typeof v === 'string' ? Buffer.byteLength(v) : v.length
    this.ensure(4 + len)
    this.buf.writeUInt32BE(len, this.pos)
    this.pos += 4
    if (typeof v === 'string') this.buf.write(v, this.pos, 'utf8')
    else v.copy(this.buf, this.pos)
    this.pos += len
  }
  raw(b: Buffer): void {
    const n = b.length
    this.ensure(n)
    const buf = this.buf
    const p = this.pos
    // a loop for a few bytes, where a native copy costs more
    if (n <= 32) for (let i = 0; i < n; i++) buf[p + i] = b[i]!
    else b.copy(buf, p)
    this.pos = p + n
  }

  /**
   * basic.deliver as one method frame. `prefix` is its class and method ids and the consumer tag, encoded
   * once per consumer; the exchange and routing key are copied from their wire form when the message has it.
   */
  deliver(
    channel: number,
    prefix: Buffer,
    deliveryTag: number,
    redelivered: boolean,
    exchange: string,
    exchangeWire: Buffer | undefined,
    routingKey: string,
    routingKeyWire: Buffer | undefined,
  ): void {
    this.beginFrame(FRAME_METHOD, channel)
    this.raw(prefix)
    this.u64(deliveryTag)
    this.u8(redelivered ? 1 : 0)
    if (exchangeWire) this.raw(exchangeWire)
    else this.shortstr(exchange)
    if (routingKeyWire) this.raw(routingKeyWire)
    else this.shortstr(routingKey)
    this.endFrame()
  }

  /** Writes a frame header with a size to be filled in by endFrame(). */
  beginFrame(type: number, channel: number): void {
    this.ensure(7)
    const buf = this.buf
    const p = this.pos
    this.frameStart = p
    buf[p] = type
    buf[p + 1] = channel >>> 8
    buf[p + 2] = channel
    this.pos = p + 7
  }

  endFrame(): void {
    this.ensure(1)
    const buf = this.buf
    const start = this.frameStart
    const size = this.pos - start - 7
    buf[start + 3] = size >>> 24
    buf[start + 4] = size >>> 16
    buf[start + 5] = size >>> 8
    buf[start + 6] = size
    buf[this.pos++] = FRAME_END
    this.frameStart = -1
  }

  /** Drops a frame whose encoding failed, so that no half-written frame ever reaches the wire. */
  abortFrame(): void {
    if (this.frameStart < 0) return
    this.pos = this.frameStart
    this.frameStart = -1
  }

  heartbeat(): void {
    this.ensure(8)
    this.buf[this.pos] = FRAME_HEARTBEAT
    this.buf.writeUInt16BE(0, this.pos + 1)
    this.buf.writeUInt32BE(0, this.pos + 3)
    this.buf[this.pos + 7] = FRAME_END
    this.pos += 8
  }

  /**
   * basic.deliver, its content header and its body: with the exchange and routing key in wire form and a
   * body small enough for one copied frame (the usual delivery), the three frames are written in one pass
   * with one bounds check; otherwise by deliver, contentHeader and body. The same bytes either way.
   */
  delivery(
    channel: number,
    prefix: Buffer,
    deliveryTag: number,
    redelivered: boolean,
    exchange: string,
    exchangeWire: Buffer | undefined,
    routingKey: string,
    routingKeyWire: Buffer | undefined,
    properties: Buffer,
    body: Buffer,
    maxPayload: number,
  ): void {
    const bodySize = body.length
    if (exchangeWire === undefined || routingKeyWire === undefined || bodySize > COPY_MAX || bodySize > maxPayload) {
      this.deliver(channel, prefix, deliveryTag, redelivered, exchange, exchangeWire, routingKey, routingKeyWire)
      this.contentHeader(channel, 60, bodySize, properties)
      this.body(channel, body, maxPayload)
      return
    }
    const methodSize = prefix.length + 9 + exchangeWire.length + routingKeyWire.length
    const headerSize = 12 + properties.length
    this.ensure(8 + methodSize + 8 + headerSize + (bodySize > 0 ? 8 + bodySize : 0))
    const buf = this.buf
    let p = frameHeaderAt(buf, this.pos, FRAME_METHOD, channel, methodSize)
    p = copyAt(buf, p, prefix)
    p = u64At(buf, p, deliveryTag)
    buf[p++] = redelivered ? 1 : 0
    p = copyAt(buf, p, exchangeWire)
    p = copyAt(buf, p, routingKeyWire)
    buf[p++] = FRAME_END
    p = frameHeaderAt(buf, p, FRAME_HEADER, channel, headerSize)
    buf[p] = 0
    buf[p + 1] = 60 // class basic
    buf[p + 2] = 0
    buf[p + 3] = 0 // weight
    p = u64At(buf, p + 4, bodySize)
    p = copyAt(buf, p, properties)
    buf[p++] = FRAME_END
    if (bodySize > 0) {
      p = frameHeaderAt(buf, p, FRAME_BODY, channel, bodySize)
      p = copyAt(buf, p, body)
      buf[p++] = FRAME_END
    }
    this.pos = p
  }

  /** A content header frame whose properties are already encoded (as received from the publisher). */
  contentHeader(channel: number, classId: number, bodySize: number, properties: Buffer): void {
    this.beginFrame(FRAME_HEADER, channel)
    this.u16(classId)
    this.u16(0)
    this.u64(bodySize)
    this.raw(properties)
    this.endFrame()
  }

  /** Body frames of at most maxPayload bytes each; large slices are queued as they are, not copied. */
  body(channel: number, body: Buffer, maxPayload: number): void {
    const size = body.length
    if (size === 0) return
    if (size <= COPY_MAX && size <= maxPayload) {
      // One frame, copied: the common case, with no view of the body made
      this.beginFrame(FRAME_BODY, channel)
      this.raw(body)
      this.endFrame()
      return
    }
    for (let off = 0; off < body.length; off += maxPayload) {
      const piece = body.subarray(off, Math.min(off + maxPayload, body.length))
      const copy = piece.length <= COPY_MAX
      this.ensure(8 + (copy ? piece.length : 0))
      const p = this.pos
      this.buf[p] = FRAME_BODY
      this.buf.writeUInt16BE(channel, p + 1)
      this.buf.writeUInt32BE(piece.length, p + 3)
      this.pos = p + 7
      if (copy) {
        piece.copy(this.buf, this.pos)
        this.pos += piece.length
      } else {
        this.handOut(this.buf.subarray(this.regionStart, this.pos))
        this.regionStart = this.pos
        this.handOut(piece)
      }
      this.buf[this.pos++] = FRAME_END
    }
  }

  /** Bytes written and not yet taken. */
  get pending(): number {
    return this.chunkBytes + this.pos - this.regionStart
  }

  /** Everything written since the last take(), as buffers to hand to the socket in order. */
  take(): Buffer[] {
    if (this.pos > this.regionStart) this.handOut(this.buf.subarray(this.regionStart, this.pos))
    this.regionStart = this.pos
    const out = this.chunks
    this.chunks = []
    this.chunkBytes = 0
    return out
  }

  /**
   * Whoever took the chunks take() returned is done with them (a socket that copied every byte into the
   * kernel): the pool buffers they were views of are written over from now on. Bytes written since the last
   * take() are kept; called with none, the current buffer starts again at its beginning.
   */
  release(): void {
    if (this.chunks.length > 0 || this.frameStart >= 0 || this.standalone) return
    const retired = this.retired
    if (retired.length > 0) {
      for (let i = 0; i < retired.length; i++) if (this.spare.length < MAX_SPARE) this.spare.push(retired[i]!)
      this.retired = []
    }
    if (this.pos === this.regionStart) {
      this.pos = 0
      this.regionStart = 0
    }
  }

  /** For a standalone writer: the bytes written so far (a view, valid until the next write). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos)
  }

  reset(): void {
    this.pos = 0
  }
}

/** Writes a frame's type, channel and payload size at p; returns where its payload starts. */
function frameHeaderAt(buf: Buffer, p: number, type: number, channel: number, size: number): number {
  buf[p] = type
  buf[p + 1] = channel >>> 8
  buf[p + 2] = channel
  buf[p + 3] = size >>> 24
  buf[p + 4] = size >>> 16
  buf[p + 5] = size >>> 8
  buf[p + 6] = size
  return p + 7
}

/** Copies src to buf at p (a loop for a few bytes, where a native copy costs more); returns the end. */
function copyAt(buf: Buffer, p: number, src: Buffer): number {
  const n = src.length
  if (n <= 32) for (let i = 0; i < n; i++) buf[p + i] = src[i]!
  else src.copy(buf, p)
  return p + n
}

function u64At(buf: Buffer, p: number, v: number): number {
  const high = Math.floor(v / 0x1_0000_0000)
  const low = v >>> 0
  buf[p] = high >>> 24
  buf[p + 1] = high >>> 16
  buf[p + 2] = high >>> 8
  buf[p + 3] = high
  buf[p + 4] = low >>> 24
  buf[p + 5] = low >>> 16
  buf[p + 6] = low >>> 8
  buf[p + 7] = low
  return p + 8
}
