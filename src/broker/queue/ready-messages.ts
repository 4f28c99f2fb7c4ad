// A queue's ready messages with what is counted of them: their body bytes (for x-max-length-bytes and the
// statistics), those paged out to the store, and the bytes they hold against the broker's message memory
// budget. Every change to the list goes through here, so the counts cannot drift from it: the pages of
// transient messages written and read back by the packed lists (PageHost) too.
import type { Message, QueueEntry } from '../message.js'
import type { MessageMemory } from '../message-memory.js'
import { FifoReadyList, HOT_LIMIT, PriorityReadyList, type ReadyList, type RecoveredEntry } from './ready-list.js'
import type { PageHost } from './packed-pages.js'
import type { QueueCounters } from '../stats.js'

/**
 * What the queue hears of its pages of transient messages (packed-pages.ts), and where it counts the
 * messages written to pages and read back (its disk_writes and disk_reads)
 */
export type PageEvents = Pick<PageHost, 'headLoaded' | 'readFailing' | 'readResumed' | 'lost'> & {
  readonly disk: Pick<QueueCounters, 'diskWrites' | 'diskReads'>
}

export class ReadyMessages {
  private readonly list: ReadyList
  /** Body bytes of the ready messages */
  bytes = 0
  /** Ready messages now paged out to the store */
  pagedOut = 0
  /** Their body bytes */
  pagedOutBytes = 0

  constructor(
    maxPriority: number | undefined,
    private readonly memory: MessageMemory,
    events?: PageEvents,
  ) {
    const pages = memory.pages
    const host: PageHost | undefined =
      pages === null || events === undefined
        ? undefined
        : {
            pages,
            memory,
            pagedOut: (count, bytes) => {
              memory.used -= bytes
              events.disk.diskWrites += count
              this.pagedOut += count
              this.pagedOutBytes += bytes
            },
            pagedIn: (count, bytes) => {
              memory.used += bytes
              events.disk.diskReads += count
              this.pagedOut -= count
              this.pagedOutBytes -= bytes
            },
            headLoaded: () => events.headLoaded(),
            readFailing: (err, retryMs, failures) => events.readFailing(err, retryMs, failures),
            readResumed: (failures) => events.readResumed(failures),
            lost: (err, count, bytes, inStore) => {
              // All were paged out (to the page or to the store): nothing of them was counted in memory
              this.bytes -= bytes
              this.pagedOut -= count
              this.pagedOutBytes -= bytes
              events.lost(err, count, bytes, inStore)
            },
          }
    this.list =
      maxPriority !== undefined && maxPriority > 0
        ? new PriorityReadyList(maxPriority, host)
        : new FifoReadyList(HOT_LIMIT, host)
  }

  get length(): number {
    return this.list.length
  }

  /** The head; the same object until it is removed */
  peek(): QueueEntry | undefined {
    return this.list.peek()
  }

  /** The head's page is being read back: reads it now (basic.get); false when it cannot be read. */
  loadHeadNow(): boolean {
    return this.list.loadHeadNow()
  }

  /** Adds a message at the tail; `message` is the entry's even when the entry is paged out (message null). */
  push(entry: QueueEntry, message: Message): void {
    this.list.push(entry, message)
    this.added(entry.size, entry.message === null)
  }

  /** Adds a message recovered from the store at the tail. */
  pushRecovered(entry: RecoveredEntry): void {
    this.list.pushRecovered(entry)
    this.added(entry.fields.bodyLength, entry.paged)
  }

  private added(size: number, paged: boolean): void {
    this.bytes += size
    if (paged) {
      this.pagedOut++
      this.pagedOutBytes += size
    } else this.memory.used += size
  }

  /** Removes the head, which peek() returned. */
  removeHead(entry: QueueEntry): void {
    this.list.shift()
    this.bytes -= entry.size
    if (entry.message) this.memory.used -= entry.size
    else {
      this.pagedOut--
      this.pagedOutBytes -= entry.size
    }
  }

  /** Puts a delivered (so in memory) message back at its original position. */
  requeue(entry: QueueEntry): void {
    this.list.requeue(entry)
    this.bytes += entry.size
    this.memory.used += entry.size
  }

  /** Removes every message, telling `forget` the store position and size of each stored one; returns how many. */
  clear(forget: (position: number, size: number) => void): number {
    const n = this.list.length
    const memory = this.memory
    this.list.clear((position, size, inMemory) => {
      if (position >= 0) forget(position, size)
      if (inMemory) memory.used -= size
    })
    this.bytes = 0
    this.pagedOut = 0
    this.pagedOutBytes = 0
    return n
  }

  /** In the order consumers get them, each made anew from a packed record. */
  entries(): IterableIterator<QueueEntry> {
    return this.list.entries()
  }

  /** Store positions of the messages flagged redelivered, for the clean-shutdown record. */
  redeliveredPositions(): number[] {
    const positions: number[] = []
    this.list.redeliveredPositions(positions)
    return positions
  }
}
