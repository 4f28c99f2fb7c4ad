// One segment of a queue: its messages file, its acks file, and which of its records are still live.
//
// Record offsets are kept in a growable Uint32Array and acks in a bitset by record index, so a segment of
// 100,000 messages costs about 400 KB of bookkeeping, and acking the same position twice (or a position
// that is not a record) can be detected instead of corrupting the live count.
import type { AppendFile } from './append-file.js'
import { crc32OfUint32BE } from './crc32.js'

export const MSGS_PREFIX = 'msgs.'
export const ACKS_PREFIX = 'acks.'

/**
 * An acks file entry: the offset of the acked record (u32 BE) and the CRC-32 of those four bytes (u32 BE).
 * The check tells an entry from what a crash can leave at the end of the file (zeros where the file had
 * grown, garbage): neither may read as "the record at offset 0 is acked".
 */
export const ACK_ENTRY_SIZE = 8

export function writeAckEntry(target: Buffer, at: number, offset: number): void {
  target.writeUInt32BE(offset, at)
  target.writeUInt32BE(crc32OfUint32BE(offset), at + 4)
}

/** The offset recorded by the entry at `at`, or -1 if the entry fails its check. */
export function readAckEntry(source: Buffer, at: number): number {
  const offset = source.readUInt32BE(at)
  return crc32OfUint32BE(offset) === source.readUInt32BE(at + 4) ? offset : -1
}

/** Segment ids are ten digits so that names sort in id order. */
export function segmentFileName(prefix: string, id: number): string {
  return prefix + String(id).padStart(10, '0')
}

/** Returns the segment id of a `msgs.NNNNNNNNNN` or `acks.NNNNNNNNNN` name, or null. */
export function parseSegmentFileName(name: string, prefix: string): number | null {
  if (!name.startsWith(prefix)) return null
  const digits = name.slice(prefix.length)
  if (!/^\d{10}$/.test(digits)) return null
  const id = Number(digits)
  return id > 0 ? id : null
}

/** Which records a segment holds (by offset) and which of them are acked. */
export class RecordIndex {
  private offsets: Uint32Array
  private acked: Uint8Array
  /** Records in the segment, acked or not */
  count = 0
  ackedCount = 0

  constructor(expectedRecords = 64) {
    this.offsets = new Uint32Array(Math.max(expectedRecords, 16))
    this.acked = new Uint8Array((this.offsets.length + 7) >> 3)
  }

  get liveCount(): number {
    return this.count - this.ackedCount
  }

  get fullyAcked(): boolean {
    return this.ackedCount === this.count
  }

  /** Records a new record at `offset` (offsets only grow). Returns its index. */
  add(offset: number): number {
    if (this.count === this.offsets.length) {
      const offsets = new Uint32Array(Math.max(16, this.offsets.length * 2))
      offsets.set(this.offsets)
      this.offsets = offsets
      const acked = new Uint8Array((offsets.length + 7) >> 3)
      acked.set(this.acked)
      this.acked = acked
    }
    this.offsets[this.count] = offset
    return this.count++
  }

  /** Drops spare capacity (recovered segments take no more records). */
  trim(): void {
    this.offsets = this.offsets.slice(0, this.count)
    this.acked = this.acked.slice(0, (this.count + 7) >> 3)
  }

  /** The index of the record starting at `offset`, or -1. */
  indexOf(offset: number): number {
    let low = 0
    let high = this.count - 1
    while (low <= high) {
      const mid = (low + high) >>> 1
      const value = this.offsets[mid]!
      if (value === offset) return mid
      if (value < offset) low = mid + 1
      else high = mid - 1
    }
    return -1
  }

  offsetAt(index: number): number {
    return this.offsets[index]!
  }

  isAcked(index: number): boolean {
    return (this.acked[index >> 3]! & (1 << (index & 7))) !== 0
  }

  /** Marks a record acked; returns false if it already was. */
  markAcked(index: number): boolean {
    const byte = index >> 3
    const bit = 1 << (index & 7)
    const current = this.acked[byte]!
    if ((current & bit) !== 0) return false
    this.acked[byte] = current | bit
    this.ackedCount++
    return true
  }

  /** Marks every record acked (purge). */
  markAllAcked(): void {
    this.acked.fill(0xff)
    this.ackedCount = this.count
  }
}

export class Segment {
  /** Fully acked and handed over for deletion */
  deleted = false
  /** Could not be read completely at recovery: its files are kept even when all it returned is acked */
  retainFiles = false

  constructor(
    readonly id: number,
    readonly msgs: AppendFile,
    readonly acks: AppendFile,
    readonly records: RecordIndex = new RecordIndex(),
  ) {}

  /** The end of the record at `index`: the next record's offset, or the end of the file for the last. */
  endOf(index: number): number {
    return index + 1 < this.records.count ? this.records.offsetAt(index + 1) : this.msgs.size
  }
}
