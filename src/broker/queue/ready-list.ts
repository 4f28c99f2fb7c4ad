// The messages of a queue that wait for a consumer. A plain queue keeps one FIFO; a priority queue
// (x-max-priority) keeps one FIFO per priority level and serves the highest level first.
//
// A FIFO keeps its first HOT_LIMIT messages as entry objects (a queue its consumers keep short never packs
// anything) and the rest packed into bytes (packed-run.ts). Requeued messages always go among the objects:
// a message delivered from a FIFO came from its head, so it is older than every packed one.
import type { Message, QueueEntry } from '../message.js'
import type { RecordFields } from '../../store/message-store.js'
import { decodeBasicProperties } from '../../protocol/generated/properties.js'
import { Reader } from '../../protocol/reader.js'
import { Deque } from './deque.js'
import { PackedRun } from './packed-run.js'
import type { PageHost } from './packed-pages.js'

/**
 * Ready messages kept as objects before the rest of a FIFO is packed. Well above flow control's marks
 * (2,000 ready messages, queue.ts): a queue its consumers keep up with hovers below them and packs nothing,
 * as packing and unpacking cost more than they save on messages that leave within moments. (At 1,024,
 * scenario c of the shared load generator, one publisher and one consumer with prefetch 100, packed every
 * message: 516k instead of 665k msg/s.)
 */
export const HOT_LIMIT = 4096

/** A ready message as recovered from the store: its record's fields, valid during the push only */
export interface RecoveredEntry {
  seq: number
  redelivered: boolean
  position: number
  fields: RecordFields
  /** Left in the store (beyond the memory budget): only its place is kept */
  paged: boolean
}

export interface ReadyList {
  readonly length: number
  /** Adds a message at the tail; `message` is the entry's message even when the entry is paged out. */
  push(entry: QueueEntry, message: Message): void
  /** Adds a message recovered from the store at the tail. */
  pushRecovered(entry: RecoveredEntry): void
  shift(): QueueEntry | undefined
  /** The head; the same object until it is shifted */
  peek(): QueueEntry | undefined
  /** Puts a requeued entry back at its original position (by seq). */
  requeue(entry: QueueEntry): void
  /**
   * The head's page is being read back (peek() answered PAGE_PENDING): reads it now, synchronously; false
   * when it cannot be read.
   */
  loadHeadNow(): boolean
  /**
   * Removes everything, telling `visit` of each message (its store position, size, whether it is in
   * memory); of a paged-out chunk, only of those with a store position.
   */
  clear(visit: (position: number, size: number, inMemory: boolean) => void): void
  entries(): IterableIterator<QueueEntry>
  /** Store positions of the messages flagged redelivered, without making entries */
  redeliveredPositions(positions: number[]): void
}

const bySeq = (e: QueueEntry): number => e.seq

export class FifoReadyList implements ReadyList {
  private readonly hot = new Deque<QueueEntry>()
  private readonly packed: PackedRun

  constructor(
    private readonly hotLimit = HOT_LIMIT,
    /** With a host, packed chunks are paged out past the memory budget */
    host?: PageHost,
  ) {
    this.packed = new PackedRun(host)
  }

  /** Bytes of packed records in the chunks held */
  get packedBytes(): number {
    return this.packed.heldBytes
  }

  get length(): number {
    return this.hot.length + this.packed.length
  }
  push(entry: QueueEntry, _message?: Message): void {
    if (this.packed.length === 0 && this.hot.length < this.hotLimit) this.hot.push(entry)
    else this.packed.append(entry.seq, entry.size, entry.redelivered, entry.expiresAt, entry.position, entry.message)
  }
  pushRecovered(e: RecoveredEntry): void {
    this.packed.appendRecord(e.seq, e.redelivered, e.position, e.fields, e.paged)
  }
  shift(): QueueEntry | undefined {
    return this.hot.length > 0 ? this.hot.shift() : this.packed.shift()
  }
  peek(): QueueEntry | undefined {
    return this.hot.length > 0 ? this.hot.peek() : this.packed.peek()
  }
  requeue(entry: QueueEntry): void {
    this.hot.insertSorted(entry, bySeq)
  }
  loadHeadNow(): boolean {
    return this.hot.length > 0 || this.packed.loadHeadNow()
  }
  clear(visit: (position: number, size: number, inMemory: boolean) => void): void {
    for (const e of this.hot) visit(e.position, e.size, e.message !== null)
    this.packed.forEachRecord((_redelivered, position, size, inMemory) => visit(position, size, inMemory))
    this.hot.clear()
    this.packed.clear()
  }
  *entries(): IterableIterator<QueueEntry> {
    yield* this.hot
    yield* this.packed.entries()
  }
  redeliveredPositions(positions: number[]): void {
    for (const e of this.hot) if (e.redelivered && e.position >= 0) positions.push(e.position)
    this.packed.forEachRecord((redelivered, position) => {
      if (redelivered && position >= 0) positions.push(position)
    })
  }
}

export class PriorityReadyList implements ReadyList {
  private readonly levels: FifoReadyList[]
  private count = 0

  constructor(
    private readonly maxPriority: number,
    host?: PageHost,
  ) {
    // A level that loses a page (its messages dropped) is shorter: so is the list
    const levelHost: PageHost | undefined = host && {
      ...host,
      lost: (err, count, bytes, inStore) => {
        this.count -= count
        host.lost(err, count, bytes, inStore)
      },
    }
    this.levels = Array.from({ length: maxPriority + 1 }, () => new FifoReadyList(HOT_LIMIT, levelHost))
  }

  /** Messages above the maximum count as the maximum; no priority counts as 0. */
  private level(priority: number | undefined): FifoReadyList {
    return this.levels[Math.min(priority ?? 0, this.maxPriority)]!
  }

  get length(): number {
    return this.count
  }
  push(entry: QueueEntry, message: Message): void {
    this.level(message.properties.priority).push(entry)
    this.count++
  }
  pushRecovered(e: RecoveredEntry): void {
    // Paged out or not, the record's properties say its level
    this.level(decodeBasicProperties(new Reader(e.fields.propertiesRaw)).priority).pushRecovered(e)
    this.count++
  }
  shift(): QueueEntry | undefined {
    for (let p = this.maxPriority; p >= 0; p--) {
      const level = this.levels[p]!
      if (level.length === 0) continue
      // (undefined while the level's head is paged out: a lower level must not overtake it)
      const entry = level.shift()
      if (entry) this.count--
      return entry
    }
    return undefined
  }
  peek(): QueueEntry | undefined {
    for (let p = this.maxPriority; p >= 0; p--) {
      const entry = this.levels[p]!.peek()
      if (entry) return entry
    }
    return undefined
  }
  loadHeadNow(): boolean {
    for (let p = this.maxPriority; p >= 0; p--) if (this.levels[p]!.length > 0) return this.levels[p]!.loadHeadNow()
    return true
  }
  requeue(entry: QueueEntry): void {
    // A requeued message was delivered, so it is in memory
    this.level(entry.message?.properties.priority).requeue(entry)
    this.count++
  }
  clear(visit: (position: number, size: number, inMemory: boolean) => void): void {
    for (let p = this.maxPriority; p >= 0; p--) this.levels[p]!.clear(visit)
    this.count = 0
  }
  *entries(): IterableIterator<QueueEntry> {
    for (let p = this.maxPriority; p >= 0; p--) yield* this.levels[p]!.entries()
  }
  redeliveredPositions(positions: number[]): void {
    for (let p = this.maxPriority; p >= 0; p--) this.levels[p]!.redeliveredPositions(positions)
  }
}
