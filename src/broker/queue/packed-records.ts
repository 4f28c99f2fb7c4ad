// The records of a packed run (packed-run.ts writes them): one per message, in a chunk of bytes. A record is
// flags, seq (f64), body size (u32), expiry (f64) and store position (f64) when it has them, then, unless it
// is paged out to the store or kept as an object (the object's index, u32), the exchange and routing key as
// short strings, the properties (u32 length + bytes) and the body; the route and the properties are left
// out when they repeat the previous record's (SAME_*), never in a chunk's first record.
import { Message, type QueueEntry } from '../message.js'
import type { Chunk } from './packed-pages.js'

export const REDELIVERED = 1
export const HAS_EXPIRY = 2
export const HAS_POSITION = 4
/** In the message store only: read back from it */
export const PAGED = 8
/** Kept as an object: the record holds its index in the chunk's objects */
export const OBJECT = 16
export const SAME_ROUTE = 32
export const SAME_PROPERTIES = 64

/** Where a reader is in a chunk, and the route and properties of the last full record it passed (SAME_* refer to them). */
export interface Cursor {
  offset: number
  exchange: string
  routingKey: string
  /** The same as short strings on the wire (the record's own bytes), which a delivery copies */
  exchangeWire: Buffer
  routingKeyWire: Buffer
  properties: Buffer
}

export const EMPTY = Buffer.alloc(0)

export function emptyCursor(): Cursor {
  return {
    offset: 0,
    exchange: '',
    routingKey: '',
    exchangeWire: EMPTY,
    routingKeyWire: EMPTY,
    properties: EMPTY,
  }
}
/** The message of an entry read for its place and flags only (forEachRecord): "in memory" */
export const PLACEHOLDER = new Message('', '', {}, EMPTY, EMPTY)

/**
 * Counts what a chunk holds in memory, and the store positions of its records, for while it is paged out.
 * Walks the records as readRecord does, without making entries.
 */
export function summarize(chunk: Chunk): void {
  const b = chunk.bytes!
  let p = 0
  let count = 0
  let bytes = 0
  let records = 0
  let recordBytes = 0
  let stored: number[] | undefined
  while (p < chunk.end) {
    const flags = b[p]!
    const size = b.readUInt32LE(p + 9)
    // flags, seq, size
    p += 13
    if (flags & HAS_EXPIRY) p += 8
    let position = -1
    if (flags & HAS_POSITION) {
      position = b.readDoubleLE(p)
      p += 8
    }
    if (flags & OBJECT) p += 4
    else if (!(flags & PAGED)) {
      if (!(flags & SAME_ROUTE)) {
        p += 1 + b[p]!
        p += 1 + b[p]!
      }
      if (!(flags & SAME_PROPERTIES)) p += 4 + b.readUInt32LE(p)
      p += size
    }
    records++
    recordBytes += size
    if (!(flags & PAGED)) {
      count++
      bytes += size
    }
    if (position >= 0) (stored ??= []).push(position, size, flags & REDELIVERED ? 1 : 0)
  }
  chunk.inMemoryCount = count
  chunk.inMemoryBytes = bytes
  chunk.records = records
  chunk.recordBytes = recordBytes
  chunk.stored = stored
}

/**
 * Reads the record at the cursor, in `chunk` (in memory), and moves the cursor past it. `metaOnly` leaves
 * the message out (its message is then a placeholder for "in memory", or null when paged out).
 */
export function readRecord(chunk: Chunk, cursor: Cursor, metaOnly: boolean): QueueEntry {
  const b = chunk.bytes!
  let p = cursor.offset
  const flags = b[p++]!
  const seq = b.readDoubleLE(p)
  const size = b.readUInt32LE(p + 8)
  p += 12
  let expiresAt = 0
  let position = -1
  if (flags & HAS_EXPIRY) {
    expiresAt = b.readDoubleLE(p)
    p += 8
  }
  if (flags & HAS_POSITION) {
    position = b.readDoubleLE(p)
    p += 8
  }
  let message: Message | null = null
  if (flags & OBJECT) {
    message = chunk.objects![b.readUInt32LE(p)]!
    p += 4
  } else if (!(flags & PAGED)) {
    if (!(flags & SAME_ROUTE)) {
      const exchangeEnd = p + 1 + b[p]!
      const routingKeyEnd = exchangeEnd + 1 + b[exchangeEnd]!
      if (!metaOnly) {
        cursor.exchange = b.toString('utf8', p + 1, exchangeEnd)
        cursor.routingKey = b.toString('utf8', exchangeEnd + 1, routingKeyEnd)
        // Copies, shared by the messages that repeat this route
        cursor.exchangeWire = Buffer.from(b.subarray(p, exchangeEnd))
        cursor.routingKeyWire = Buffer.from(b.subarray(exchangeEnd, routingKeyEnd))
      }
      p = routingKeyEnd
    }
    if (!(flags & SAME_PROPERTIES)) {
      const end = p + 4 + b.readUInt32LE(p)
      // A copy: the chunk is freed once the head leaves it, the message may live on unacked
      cursor.properties = metaOnly ? EMPTY : Buffer.from(b.subarray(p + 4, end))
      p = end
    }
    message = metaOnly
      ? PLACEHOLDER
      : new Message(
          cursor.exchange,
          cursor.routingKey,
          undefined,
          cursor.properties,
          Buffer.from(b.subarray(p, p + size)),
          undefined,
          cursor.exchangeWire,
          cursor.routingKeyWire,
        )
    p += size
  }
  cursor.offset = p
  return { message, size, seq, redelivered: (flags & REDELIVERED) !== 0, expiresAt, position }
}
