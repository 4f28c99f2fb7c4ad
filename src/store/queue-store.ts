// The store of one durable queue: appends records to the current segment, records acks, and hands fully
// acked segments over for deletion. Nothing here does I/O on the write path: bytes are buffered in the
// segment's files and written by the message store's next group commit.
import { join } from 'node:path'
import type { Logger } from '../util/logger.js'
import { AppendFile, type CommitQueue } from './append-file.js'
import type { StoreFileSystem } from './file-io.js'
import {
  MAX_SEGMENT_BYTES,
  RECORD_HEADER_SIZE,
  checksumOf,
  decodePayload,
  encodeRecord,
  layoutOf,
  offsetOf,
  slotOf,
  slotOfSegment,
  toPosition,
  type RecordSource,
  type StoredMessage,
} from './record.js'
import type { RecoveredQueue } from './recovery.js'
import { ACKS_PREFIX, ACK_ENTRY_SIZE, MSGS_PREFIX, Segment, segmentFileName, writeAckEntry } from './segment.js'

/** Bodies this large are written from the caller's buffer instead of being copied into the write buffer */
const REFERENCE_BODY_FROM = 64 * 1024

/** What a queue store needs from the message store that owns it. */
export interface QueueStoreHost {
  readonly io: StoreFileSystem
  readonly commits: CommitQueue
  readonly segmentSize: number
  readonly log: Logger
  /**
   * True once the message store is closed: acks are then kept in memory only. (While writes fail, acks are
   * still buffered: they are written when the store can write again.)
   */
  isClosed(): boolean
  /** True while commits fail (the store retries them) */
  isFailing(): boolean
  /** Throws if the message store accepts no new messages now (closed, or writes failing). */
  assertWritable(): void
  /** Removes the segment's files in the next commit, unless its queue store is deleted by then. */
  removeSegment(segment: Segment, owner: QueueStore): void
}

export class QueueStore {
  /** Live segments by slot (see SEGMENT_SLOTS), in id order */
  private readonly segments = new Map<number, Segment>()
  private writeSegment: Segment
  private nextSegmentId: number
  private liveCount = 0
  private discarded = false

  constructor(
    readonly vhost: string,
    readonly queue: string,
    /** The queue's directory */
    readonly dir: string,
    private readonly host: QueueStoreHost,
    recovered: RecoveredQueue,
  ) {
    for (const segment of recovered.segments) {
      this.segments.set(slotOfSegment(segment.id), segment)
      this.liveCount += segment.records.liveCount
    }
    this.nextSegmentId = recovered.nextSegmentId
    // Recovered segments are never appended to: new records always start a fresh segment
    this.writeSegment = this.createSegment()
  }

  /** The queue was deleted: its directory is removed as a whole, and nothing is written for it any more. */
  get deleted(): boolean {
    return this.discarded
  }

  /** Messages appended and not acked. */
  get messageCount(): number {
    return this.liveCount
  }

  private createSegment(): Segment {
    // Skips the ids whose slot a live segment still holds (one 2^21 segments old)
    while (this.segments.has(slotOfSegment(this.nextSegmentId))) this.nextSegmentId++
    const id = this.nextSegmentId++
    const { io, commits, segmentSize } = this.host
    const segment = new Segment(
      id,
      new AppendFile(join(this.dir, segmentFileName(MSGS_PREFIX, id)), 0, false, io, commits, {
        preallocateUpTo: segmentSize,
      }),
      new AppendFile(join(this.dir, segmentFileName(ACKS_PREFIX, id)), 0, false, io, commits, {
        awaited: false,
        preallocateUpTo: segmentSize,
      }),
    )
    this.segments.set(slotOfSegment(id), segment)
    return segment
  }

  /**
   * Buffers a record for the current batch and returns its position. The body buffer must not be
   * modified afterwards (large bodies are written from it directly).
   */
  append(message: StoredMessage): number {
    return this.appendRecord(message, message.expiresAt ?? 0)
  }

  /** append(), from any object holding a message's fields (the broker's message itself: nothing made per message). */
  appendRecord(message: RecordSource, expiresAt: number): number {
    this.host.assertWritable()
    if (this.discarded) throw new Error(`queue store of ${this.queue} was deleted`)
    const layout = layoutOf(message)
    if (layout.totalBytes > MAX_SEGMENT_BYTES) throw new RangeError('message too large for a segment')
    let segment = this.writeSegment
    if (segment.msgs.size > 0 && segment.msgs.size + layout.totalBytes > this.host.segmentSize) {
      segment = this.rotate()
    }
    const offset = segment.msgs.size
    if (message.body.length >= REFERENCE_BODY_FROM) {
      const { buffer, at } = segment.msgs.reserve(layout.totalBytes - message.body.length)
      encodeRecord(message, expiresAt, layout, buffer, at, false)
      segment.msgs.appendBuffer(message.body)
    } else {
      const { buffer, at } = segment.msgs.reserve(layout.totalBytes)
      encodeRecord(message, expiresAt, layout, buffer, at, true)
    }
    segment.records.add(offset)
    this.liveCount++
    return toPosition(segment.id, offset)
  }

  private rotate(): Segment {
    const previous = this.writeSegment
    this.writeSegment = this.createSegment()
    if (previous.records.fullyAcked) this.retire(previous)
    return this.writeSegment
  }

  /**
   * Marks a record acked. Acking a position twice, or one that is not a record of this queue, is ignored.
   * The ack is written in the next commit, or not at all when it completes its segment (the segment's
   * files are deleted instead).
   */
  ack(position: number): void {
    if (this.discarded) return
    const segment = this.segments.get(slotOf(position))
    const offset = offsetOf(position)
    const index = segment === undefined ? -1 : segment.records.indexOf(offset)
    if (segment === undefined || index < 0) {
      // Already acked and its segment deleted (e.g. by a purge), or not a record of this queue
      this.host.log.debug({ queue: this.queue, vhost: this.vhost, position }, 'ack of an unknown message position')
      return
    }
    if (!segment.records.markAcked(index)) return
    this.liveCount--
    // Closed: the ack is kept in memory only, and the message comes back at restart
    if (this.host.isClosed()) return
    if (segment.records.fullyAcked && !segment.retainFiles) {
      if (segment !== this.writeSegment) {
        this.retire(segment)
        return
      }
      // While writes fail (a full disk), a drained queue gives up its write segment, whose unwritten bytes
      // the retries would otherwise keep trying to write: purging a queue frees space at once
      if (this.host.isFailing()) {
        this.writeSegment = this.createSegment()
        this.retire(segment)
        return
      }
    }
    this.writeAck(segment, offset)
  }

  private writeAck(segment: Segment, offset: number): void {
    const { buffer, at } = segment.acks.reserve(ACK_ENTRY_SIZE)
    writeAckEntry(buffer, at, offset)
  }

  /** Acks every message (queue.purge). Segments are deleted rather than filled with acks. */
  purge(): void {
    if (this.discarded || this.liveCount === 0) return
    if (this.host.isClosed()) {
      for (const segment of this.segments.values()) segment.records.markAllAcked()
      this.liveCount = 0
      return
    }
    if (this.writeSegment.records.count > 0) this.writeSegment = this.createSegment()
    for (const segment of [...this.segments.values()]) {
      if (segment === this.writeSegment) continue
      if (segment.retainFiles) {
        for (let index = 0; index < segment.records.count; index++) {
          if (segment.records.markAcked(index)) this.writeAck(segment, segment.records.offsetAt(index))
        }
      } else {
        segment.records.markAllAcked()
        this.retire(segment)
      }
    }
    this.liveCount = 0
  }

  /** Drops the segment from the queue; its files are removed by the next commit. */
  private retire(segment: Segment): void {
    this.segments.delete(slotOfSegment(segment.id))
    segment.deleted = true
    segment.msgs.discarded = true
    segment.acks.discarded = true
    this.host.removeSegment(segment, this)
  }

  /** Reads a record back, from memory if it is not written yet. Rejects if the bytes are damaged. */
  async read(position: number): Promise<StoredMessage> {
    const { segment, offset, length } = this.locate(position)
    return this.decode(await segment.msgs.read(offset, length), position)
  }

  readSync(position: number): StoredMessage {
    const { segment, offset, length } = this.locate(position)
    return this.decode(segment.msgs.readSync(offset, length), position)
  }

  private locate(position: number): { segment: Segment; offset: number; length: number } {
    const segment = this.segments.get(slotOf(position))
    const offset = offsetOf(position)
    const index = segment === undefined ? -1 : segment.records.indexOf(offset)
    if (segment === undefined || index < 0) throw new Error(`no message at position ${position} in ${this.queue}`)
    return { segment, offset, length: segment.endOf(index) - offset }
  }

  private decode(bytes: Buffer, position: number): StoredMessage {
    const length = bytes.length - RECORD_HEADER_SIZE
    const damaged = () =>
      new Error(`message at position ${position} of queue ${this.queue} is damaged on disk (${this.dir})`)
    if (length < 0 || bytes.readUInt32BE(0) !== length) throw damaged()
    if (checksumOf(bytes, RECORD_HEADER_SIZE, length) !== bytes.readUInt32BE(4)) throw damaged()
    const message = decodePayload(bytes, RECORD_HEADER_SIZE, length)
    if (message === null) throw damaged()
    return message
  }

  /** Stops all writes of this queue (it is being deleted); buffered bytes are dropped. */
  discard(): void {
    this.discarded = true
    for (const segment of this.segments.values()) {
      segment.msgs.discarded = true
      segment.acks.discarded = true
    }
  }

  /** Closes every file descriptor; called when no commit is running. */
  async closeFiles(): Promise<void> {
    const closing: Promise<void>[] = []
    for (const segment of this.segments.values()) closing.push(segment.msgs.close(), segment.acks.close())
    await Promise.all(closing)
  }
}
