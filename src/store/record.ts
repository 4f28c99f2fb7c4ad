// The on-disk record of one message, and message positions.
//
// A segment file is a sequence of records:
//   u32 BE payload length | u32 BE crc32 of the payload | payload
// and the payload is:
//   u8 exchange length | exchange (utf8) | u8 routing key length | routing key (utf8)
//   | u32 BE properties length | properties (content-header flags + values, as received)
//   | u32 BE body length | body
// The checksum lets recovery tell a complete record from a torn or damaged one; the inner lengths must
// add up to the payload length, which catches a damaged length that happens to pass the checksum.
import { crc32 } from 'node:zlib'

export interface StoredMessage {
  exchange: string
  routingKey: string
  /** The content header's property flags and values, exactly as received */
  propertiesRaw: Buffer
  body: Buffer
}

export interface RecoveredMessage {
  /** Where the record is: pass it to QueueStore.ack and QueueStore.read */
  position: number
  message: StoredMessage
}

export const RECORD_HEADER_SIZE = 8
/** Payload of a message with empty exchange, routing key, properties and body */
export const MIN_PAYLOAD_SIZE = 1 + 1 + 4 + 4
/** Offsets are u32, so a segment never grows past 4 GiB */
export const MAX_SEGMENT_BYTES = 0xffff_ffff

const SEGMENT_MULTIPLIER = 2 ** 32

/** A record's place as one JS number: segment * 2^32 + byte offset (exact up to segment 2^21). */
export function toPosition(segment: number, offset: number): number {
  return segment * SEGMENT_MULTIPLIER + offset
}

export function segmentOf(position: number): number {
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

export function layoutOf(message: StoredMessage): RecordLayout {
  const exchangeBytes = Buffer.byteLength(message.exchange, 'utf8')
  const routingKeyBytes = Buffer.byteLength(message.routingKey, 'utf8')
  if (exchangeBytes > 255) throw new RangeError(`exchange name longer than 255 bytes: ${message.exchange}`)
  if (routingKeyBytes > 255) throw new RangeError('routing key longer than 255 bytes')
  const payload = MIN_PAYLOAD_SIZE + exchangeBytes + routingKeyBytes + message.propertiesRaw.length
  return { exchangeBytes, routingKeyBytes, totalBytes: RECORD_HEADER_SIZE + payload + message.body.length }
}

/**
 * Writes the record into `target` at `at`. With `includeBody` false, the body bytes are left out (the
 * caller writes the body buffer itself, right after) but still counted in the length and checksum.
 * Returns the end of what was written.
 */
export function encodeRecord(
  message: StoredMessage,
  layout: RecordLayout,
  target: Buffer,
  at: number,
  includeBody: boolean,
): number {
  const payloadBytes = layout.totalBytes - RECORD_HEADER_SIZE
  let p = at + RECORD_HEADER_SIZE
  target[p++] = layout.exchangeBytes
  p += target.write(message.exchange, p, 'utf8')
  target[p++] = layout.routingKeyBytes
  p += target.write(message.routingKey, p, 'utf8')
  p = target.writeUInt32BE(message.propertiesRaw.length, p)
  p += message.propertiesRaw.copy(target, p)
  p = target.writeUInt32BE(message.body.length, p)
  let crc = crc32(target.subarray(at + RECORD_HEADER_SIZE, p))
  if (includeBody) p += message.body.copy(target, p)
  // zlib returns 0 for a buffer without memory behind it (some empty Buffers): skip empty bodies
  if (message.body.length > 0) crc = crc32(message.body, crc)
  target.writeUInt32BE(payloadBytes, at)
  target.writeUInt32BE(crc, at + 4)
  return p
}

/**
 * Decodes the payload found at `start` (after the 8-byte header) of length `length`, or returns null if
 * its inner lengths do not add up. The buffers returned are views into `source`, not copies.
 */
export function decodePayload(source: Buffer, start: number, length: number): StoredMessage | null {
  const end = start + length
  let p = start
  const exchangeEnd = p + 1 + source[p]!
  if (exchangeEnd + 1 > end) return null
  const exchange = source.toString('utf8', p + 1, exchangeEnd)
  p = exchangeEnd
  const routingKeyEnd = p + 1 + source[p]!
  if (routingKeyEnd + 4 > end) return null
  const routingKey = source.toString('utf8', p + 1, routingKeyEnd)
  p = routingKeyEnd
  const propertiesEnd = p + 4 + source.readUInt32BE(p)
  if (propertiesEnd + 4 > end) return null
  const propertiesRaw = source.subarray(p + 4, propertiesEnd)
  p = propertiesEnd
  const bodyEnd = p + 4 + source.readUInt32BE(p)
  if (bodyEnd !== end) return null
  const body = source.subarray(p + 4, bodyEnd)
  return { exchange, routingKey, propertiesRaw, body }
}

/** Checks a payload's inner lengths without decoding it (for records that are acked and not returned). */
export function payloadIsWellFormed(source: Buffer, start: number, length: number): boolean {
  const end = start + length
  let p = start + 1 + source[start]!
  if (p + 1 > end) return false
  p += 1 + source[p]!
  if (p + 4 > end) return false
  p += 4 + source.readUInt32BE(p)
  if (p + 4 > end) return false
  return p + 4 + source.readUInt32BE(p) === end
}

export function checksumOf(source: Buffer, start: number, length: number): number {
  return crc32(source.subarray(start, start + length))
}
