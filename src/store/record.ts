// The on-disk record of one message, and message positions.
//
// A segment file is a sequence of records:
//   u32 BE payload length | u32 BE crc32 of the payload | payload
// and the payload is:
//   f64 BE expiry (ms since the epoch, 0 for none) | u8 exchange length | exchange (utf8)
//   | u8 routing key length | routing key (utf8)
//   | u32 BE properties length | properties (content-header flags + values, as received)
//   | u32 BE body length | body
// The checksum lets recovery tell a complete record from a torn or damaged one; the inner lengths must
// add up to the payload length, which catches a damaged length that happens to pass the checksum.
import { crc32 } from './crc32.js'

export interface StoredMessage {
  exchange: string
  routingKey: string
  /** The content header's property flags and values, exactly as received */
  propertiesRaw: Buffer
  body: Buffer
  /** When the message expires in this queue (ms since the epoch), 0 or absent for never: a TTL keeps
   * counting from the publish across a restart, as in RabbitMQ */
  expiresAt?: number
}

/**
 * What a record is written from: a StoredMessage, or the broker's own message object as it is (no object
 * made per persisted message). The wire forms, when present, are the exchange and routing key as a publish
 * carried them (length octet, then the bytes): the record's own encoding of them, copied as they are.
 */
export interface RecordSource {
  readonly exchange: string
  readonly routingKey: string
  readonly propertiesRaw: Buffer
  readonly body: Buffer
  readonly exchangeWire?: Buffer | undefined
  readonly routingKeyWire?: Buffer | undefined
}

export interface RecoveredMessage {
  /** Where the record is: pass it to QueueStore.ack and QueueStore.read */
  position: number
  message: StoredMessage
}

export const RECORD_HEADER_SIZE = 8
/** Payload of a message with empty exchange, routing key, properties and body */
export const MIN_PAYLOAD_SIZE = 8 + 1 + 1 + 4 + 4
/** Offsets are u32, so a segment never grows past 4 GiB */
export const MAX_SEGMENT_BYTES = 0xffff_ffff

const SEGMENT_MULTIPLIER = 2 ** 32
/**
 * A position has 53 - 32 = 21 bits left for the segment, but segment ids only grow (a busy queue can
 * go through 2^21 segments of 16 MiB in days), so a position holds the id modulo 2^21: its slot. A queue
 * never has two live segments in one slot (it skips an id whose slot is taken).
 */
export const SEGMENT_SLOTS = 2 ** 21

/** The slot of a segment id: which segment a position refers to, among the queue's live segments. */
export function slotOfSegment(segmentId: number): number {
  return segmentId % SEGMENT_SLOTS
}

/** A record's place as one exact JS number: slot * 2^32 + byte offset. */
export function toPosition(segmentId: number, offset: number): number {
  return slotOfSegment(segmentId) * SEGMENT_MULTIPLIER + offset
}

export function slotOf(position: number): number {
  return Math.floor(position / SEGMENT_MULTIPLIER)
}

export function offsetOf(position: number): number {
  return position % SEGMENT_MULTIPLIER
}

/** The byte lengths a message needs, computed once and reused by the encoder. */
export interface RecordLayout {
  exchangeBytes: number
  routingKeyBytes: number
  /** Header + payload */
  totalBytes: number
}

export function layoutOf(message: RecordSource): RecordLayout {
  const exchangeBytes =
    message.exchangeWire !== undefined ? message.exchangeWire.length - 1 : Buffer.byteLength(message.exchange, 'utf8')
  const routingKeyBytes =
    message.routingKeyWire !== undefined
      ? message.routingKeyWire.length - 1
      : Buffer.byteLength(message.routingKey, 'utf8')
  if (exchangeBytes > 255) throw new RangeError(`exchange name longer than 255 bytes: ${message.exchange}`)
  if (routingKeyBytes > 255) throw new RangeError('routing key longer than 255 bytes')
  const payload = MIN_PAYLOAD_SIZE + exchangeBytes + routingKeyBytes + message.propertiesRaw.length
  return { exchangeBytes, routingKeyBytes, totalBytes: RECORD_HEADER_SIZE + payload + message.body.length }
}

/** Writes an ASCII string with a JS loop (cheaper than a native call for a short name), else as utf8. */
function writeShortString(target: Buffer, at: number, text: string, byteLength: number): number {
  if (byteLength !== text.length) return at + target.write(text, at, 'utf8')
  for (let i = 0; i < byteLength; i++) target[at + i] = text.charCodeAt(i)
  return at + byteLength
}

/**
 * Writes the record into `target` at `at`, expiring at `expiresAt` (0: never). With `includeBody` false, the
 * body bytes are left out (the caller writes the body buffer itself, right after) but still counted in the
 * length and checksum. Returns the end of what was written.
 */
export function encodeRecord(
  message: RecordSource,
  expiresAt: number,
  layout: RecordLayout,
  target: Buffer,
  at: number,
  includeBody: boolean,
): number {
  const payloadBytes = layout.totalBytes - RECORD_HEADER_SIZE
  let p = target.writeDoubleBE(expiresAt, at + RECORD_HEADER_SIZE)
  // TypedArray.set rather than Buffer.copy: same copy without the argument checks, which dominate here
  if (message.exchangeWire !== undefined) {
    target.set(message.exchangeWire, p)
    p += message.exchangeWire.length
  } else {
    target[p++] = layout.exchangeBytes
    p = writeShortString(target, p, message.exchange, layout.exchangeBytes)
  }
  if (message.routingKeyWire !== undefined) {
    target.set(message.routingKeyWire, p)
    p += message.routingKeyWire.length
  } else {
    target[p++] = layout.routingKeyBytes
    p = writeShortString(target, p, message.routingKey, layout.routingKeyBytes)
  }
  p = target.writeUInt32BE(message.propertiesRaw.length, p)
  target.set(message.propertiesRaw, p)
  p += message.propertiesRaw.length
  p = target.writeUInt32BE(message.body.length, p)
  let crc: number
  if (includeBody) {
    // One checksum over the whole payload once the body is beside the rest
    target.set(message.body, p)
    p += message.body.length
    crc = crc32(target, at + RECORD_HEADER_SIZE, p)
  } else {
    crc = crc32(message.body, 0, message.body.length, crc32(target, at + RECORD_HEADER_SIZE, p))
  }
  target.writeUInt32BE(payloadBytes, at)
  target.writeUInt32BE(crc, at + 4)
  return p
}

/**
 * Decodes a short string, returning the previous string when the bytes are the same. Recovery reads
 * millions of records whose exchange and routing key mostly repeat: this spares a string per field.
 */
export class RepeatedStringDecoder {
  private readonly bytes = Buffer.alloc(255)
  private length = -1
  private value = ''

  decode(source: Buffer, start: number, end: number): string {
    const length = end - start
    if (length === this.length) {
      let i = 0
      while (i < length && source[start + i] === this.bytes[i]) i++
      if (i === length) return this.value
    }
    this.value = source.toString('utf8', start, end)
    this.length = length
    source.copy(this.bytes, 0, start, end)
    return this.value
  }
}

/** Like RepeatedStringDecoder, for the properties: one Buffer shared by consecutive identical values. */
export class RepeatedBytesDecoder {
  private previous: Buffer = Buffer.alloc(0)

  decode(source: Buffer, start: number, end: number): Buffer {
    const previous = this.previous
    const length = end - start
    if (length === previous.length) {
      let i = 0
      while (i < length && source[start + i] === previous[i]) i++
      if (i === length) return previous
    }
    this.previous = source.subarray(start, end)
    return this.previous
  }
}

export interface PayloadDecoders {
  exchange: RepeatedStringDecoder
  routingKey: RepeatedStringDecoder
  properties: RepeatedBytesDecoder
}

/**
 * Decodes the payload found at `start` (after the 8-byte header) of length `length`, or returns null if
 * its inner lengths do not add up. The buffers returned are views into `source`, not copies.
 */
export function decodePayload(
  source: Buffer,
  start: number,
  length: number,
  decoders?: PayloadDecoders,
): StoredMessage | null {
  const end = start + length
  if (start + 8 + 1 > end) return null
  const expiresAt = source.readDoubleBE(start)
  let p = start + 8
  const exchangeEnd = p + 1 + source[p]!
  if (exchangeEnd + 1 > end) return null
  const exchange = decoders
    ? decoders.exchange.decode(source, p + 1, exchangeEnd)
    : source.toString('utf8', p + 1, exchangeEnd)
  p = exchangeEnd
  const routingKeyEnd = p + 1 + source[p]!
  if (routingKeyEnd + 4 > end) return null
  const routingKey = decoders
    ? decoders.routingKey.decode(source, p + 1, routingKeyEnd)
    : source.toString('utf8', p + 1, routingKeyEnd)
  p = routingKeyEnd
  const propertiesEnd = p + 4 + source.readUInt32BE(p)
  if (propertiesEnd + 4 > end) return null
  const propertiesRaw = decoders
    ? decoders.properties.decode(source, p + 4, propertiesEnd)
    : source.subarray(p + 4, propertiesEnd)
  p = propertiesEnd
  const bodyEnd = p + 4 + source.readUInt32BE(p)
  if (bodyEnd !== end) return null
  const body = source.subarray(p + 4, bodyEnd)
  return { exchange, routingKey, propertiesRaw, body, expiresAt }
}

/**
 * Where a record's fields are in a buffer, found without copying or allocating: recovery hands one of these,
 * reused from record to record, to a caller that copies what it keeps (see RecordSink). Valid only during
 * the call it is passed to.
 */
export class RecordFields {
  source: Buffer = Buffer.alloc(0)
  /** When the message expires (ms since the epoch), 0 for never */
  expiresAt = 0
  /** The exchange and routing key as stored: u8 length, UTF-8 bytes, for each */
  routeStart = 0
  routeEnd = 0
  /** The properties bytes (the content header's flags and values) */
  propertiesStart = 0
  propertiesEnd = 0
  bodyStart = 0
  bodyEnd = 0

  get bodyLength(): number {
    return this.bodyEnd - this.bodyStart
  }

  /** The properties as a view of the source (valid as long as the source is) */
  get propertiesRaw(): Buffer {
    return this.source.subarray(this.propertiesStart, this.propertiesEnd)
  }

  /** Finds the fields of the payload at `start` of `length` bytes; false if its inner lengths do not add up. */
  locate(source: Buffer, start: number, length: number): boolean {
    const end = start + length
    if (start + 8 + 1 > end) return false
    let p = start + 8
    const routingKeyAt = p + 1 + source[p]!
    if (routingKeyAt + 1 > end) return false
    const propertiesLengthAt = routingKeyAt + 1 + source[routingKeyAt]!
    if (propertiesLengthAt + 4 > end) return false
    const propertiesEnd = propertiesLengthAt + 4 + source.readUInt32BE(propertiesLengthAt)
    if (propertiesEnd + 4 > end) return false
    p = propertiesEnd + 4
    if (p + source.readUInt32BE(propertiesEnd) !== end) return false
    this.source = source
    this.expiresAt = source.readDoubleBE(start)
    this.routeStart = start + 8
    this.routeEnd = propertiesLengthAt
    this.propertiesStart = propertiesLengthAt + 4
    this.propertiesEnd = propertiesEnd
    this.bodyStart = p
    this.bodyEnd = end
    return true
  }
}

/** Checks a payload's inner lengths without decoding it (for records that are acked and not returned). */
export function payloadIsWellFormed(source: Buffer, start: number, length: number): boolean {
  const end = start + length
  if (start + 8 + 1 > end) return false
  let p = start + 8 + 1 + source[start + 8]!
  if (p + 1 > end) return false
  p += 1 + source[p]!
  if (p + 4 > end) return false
  p += 4 + source.readUInt32BE(p)
  if (p + 4 > end) return false
  return p + 4 + source.readUInt32BE(p) === end
}

export function checksumOf(source: Buffer, start: number, length: number): number {
  return crc32(source, start, start + length)
}
