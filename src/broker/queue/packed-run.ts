// The tail of a long queue, kept as bytes instead of objects. A ready message held as objects costs about
// 500 bytes of heap besides its body (the entry, the Message, its decoded properties, two Buffer views); a
// backlog of millions of messages is mostly that. Here each message is one record appended to a chunk of
// bytes: flags, seq, size, expiry and store position when it has them, then exchange, routing key,
// properties and body, where the route and properties are left out when they repeat the previous record's
// (publishers mostly send alike messages). The head is turned back into a QueueEntry with a Message when a
// queue looks at it, and a chunk is freed as soon as the head has left it. A message paged out to the store
// is a record without content; a large body, or a message with BCC keys, stays an object the record points to.
//
// Past the message memory budget, a run given a PageHost (a broker with a data directory) writes its chunks
// between the second and the last to the page area of transient messages and frees them (packed-pages.ts);
// a chunk is read back, asynchronously, as the head comes within one chunk of it. While the head's own chunk
// is still being read, peek() answers PAGE_PENDING and the queue waits: nothing is delivered out of order.
import type { RecordFields } from '../../store/message-store.js'
import type { PagingRetry } from '../../store/transient-pages.js'
import { Message, type QueueEntry } from '../message.js'
import {
  EMPTY,
  HAS_EXPIRY,
  HAS_POSITION,
  OBJECT,
  PAGED,
  REDELIVERED,
  SAME_PROPERTIES,
  SAME_ROUTE,
  emptyCursor,
  readRecord,
  summarize,
  type Cursor,
} from './packed-records.js'
import { Deque } from './deque.js'
import {
  Chunk,
  IN_MEMORY,
  PAGED_OUT,
  PAGE_PENDING,
  READING,
  WRITING,
  decodePage,
  encodePage,
  type PageHost,
} from './packed-pages.js'
import { isTransientReadError } from './paged-reads.js'

/** What a record holds of a message: a Message, or a message recovered from the store */
export interface PackableContent {
  readonly exchange: string
  readonly routingKey: string
  readonly propertiesRaw: Buffer
  readonly body: Buffer
}

/** Bodies up to this size are copied into records; larger ones cost little extra as objects */
const INLINE_BODY_MAX = 4096
/**
 * Chunk sizes: a queue just past the hot limit holds a few records, so chunks start small and grow four
 * times, then stay at LARGE_CHUNK_BYTES. The large size is glibc's largest mmap threshold (32 MiB on
 * 64-bit): a chunk that large is always its own mapping, given back to the system when it is freed, while
 * smaller ones may come from the malloc heap, which keeps freed memory that other allocations pin (after
 * draining two million messages the heap kept 230 MB with 256 KiB chunks, 24 MB with these). Its pages are
 * committed only as records are written, but V8 counts an ArrayBuffer's whole size as external memory and
 * collects garbage sooner for it: a queue gets one only after 5 MiB of smaller chunks.
 */
const CHUNK_SIZES = [16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024, 4096 * 1024]
const LARGE_CHUNK_BYTES = 32 * 1024 * 1024
/** flags, seq, size, expiry, position, route lengths and names, properties length */
const MAX_HEADER_BYTES = 1 + 8 + 4 + 8 + 8 + 2 + 255 + 255 + 4

/** Compares byte ranges with a loop: for the few bytes of a route or properties, cheaper than a native call. */
function sameBytes(a: Buffer, aStart: number, b: Buffer, bStart: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aStart + i] !== b[bStart + i]) return false
  return true
}

/** Copies bytes, short runs with a loop (a native call costs more than copying a few dozen bytes); returns the end. */
function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  if (end - start > 64) return at + from.copy(to, at, start, end)
  for (let i = start; i < end; i++) to[at++] = from[i]!
  return at
}

function isShortAscii(text: string): boolean {
  if (text.length > 255) return false
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 127) return false
  return true
}

export class PackedRun implements PagingRetry {
  private readonly chunks = new Deque<Chunk>()
  /** Chunks made since the run was last empty: the next one's size */
  private chunksMade = 0
  private count = 0
  /** The head record's place: always in the first chunk while the run is not empty */
  private head: Cursor = emptyCursor()
  /** The head record turned into an entry (peek), handed out by the next shift */
  private headEntry: QueueEntry | undefined
  /** Where the head record ends, once headEntry is made */
  private headEnd = 0
  // What the last full record of the write chunk held, for SAME_ROUTE and SAME_PROPERTIES
  private lastExchange: string | undefined
  private lastRoutingKey = ''
  private lastProperties: Buffer = EMPTY
  // The same, as where their bytes are in the write chunk (-1: none), for appendRecord
  private lastRouteAt = -1
  private lastRouteLength = 0
  private lastPropertiesAt = -1
  private lastPropertiesLength = 0

  /** With a host, chunks are paged out past the memory budget */
  constructor(private readonly host?: PageHost) {}

  get length(): number {
    return this.count
  }

  /** Bytes written into the chunks still held (a drained run holds none) */
  get heldBytes(): number {
    let bytes = 0
    for (const chunk of this.chunks) if (chunk.bytes !== null) bytes += chunk.end
    return bytes
  }

  /**
   * Appends a message: its content is copied into a record (or kept as an object when large); null content
   * means it is paged out to the store at `position`.
   */
  append(
    seq: number,
    size: number,
    redelivered: boolean,
    expiresAt: number,
    position: number,
    content: PackableContent | null,
  ): void {
    let flags =
      (redelivered ? REDELIVERED : 0) | (expiresAt !== 0 ? HAS_EXPIRY : 0) | (position >= 0 ? HAS_POSITION : 0)
    let inline = false
    if (content === null) flags |= PAGED
    else if (
      size <= INLINE_BODY_MAX &&
      content.propertiesRaw.length <= INLINE_BODY_MAX &&
      !(content instanceof Message && content.bccKeys !== undefined) &&
      ((content.exchange === this.lastExchange && content.routingKey === this.lastRoutingKey) ||
        (isShortAscii(content.exchange) && isShortAscii(content.routingKey)))
    )
      inline = true
    else flags |= OBJECT
    const need = MAX_HEADER_BYTES + (inline ? size + content!.propertiesRaw.length : 0)
    const chunk = this.writeChunk(need)
    if (inline) {
      // (a new chunk has no last record: its first one is always full)
      const c = content!
      if (c.exchange === this.lastExchange && c.routingKey === this.lastRoutingKey) flags |= SAME_ROUTE
      const props = c.propertiesRaw
      if (this.lastExchange !== undefined && (props === this.lastProperties || props.equals(this.lastProperties)))
        flags |= SAME_PROPERTIES
    }
    const b = chunk.bytes!
    let p = chunk.end
    b[p++] = flags
    p = b.writeDoubleLE(seq, p)
    p = b.writeUInt32LE(size, p)
    if (flags & HAS_EXPIRY) p = b.writeDoubleLE(expiresAt, p)
    if (flags & HAS_POSITION) p = b.writeDoubleLE(position, p)
    if (flags & OBJECT) {
      const objects = (chunk.objects ??= [])
      p = b.writeUInt32LE(objects.length, p)
      objects.push(
        content instanceof Message
          ? content
          : new Message(content!.exchange, content!.routingKey, undefined, content!.propertiesRaw, content!.body),
      )
    } else if (inline) {
      const c = content!
      if (!(flags & SAME_ROUTE)) {
        // ASCII (checked above): as many bytes as characters
        this.lastRouteAt = p
        b[p++] = c.exchange.length
        p += b.write(c.exchange, p, 'latin1')
        b[p++] = c.routingKey.length
        p += b.write(c.routingKey, p, 'latin1')
        this.lastRouteLength = p - this.lastRouteAt
        this.lastExchange = c.exchange
        this.lastRoutingKey = c.routingKey
      }
      if (!(flags & SAME_PROPERTIES)) {
        p = b.writeUInt32LE(c.propertiesRaw.length, p)
        b.set(c.propertiesRaw, p)
        this.lastPropertiesAt = p
        this.lastPropertiesLength = c.propertiesRaw.length
        p += c.propertiesRaw.length
        this.lastProperties = c.propertiesRaw
      }
      b.set(c.body, p)
      p += size
    }
    chunk.end = p
    this.count++
  }

  /**
   * Appends a message recovered from the store, copied from its record's fields (nothing is allocated for
   * it unless its body is too large for a record); with `paged`, only its place in the store is kept.
   */
  appendRecord(seq: number, redelivered: boolean, position: number, f: RecordFields, paged: boolean): void {
    const size = f.bodyLength
    const propertiesLength = f.propertiesEnd - f.propertiesStart
    const src = f.source
    if (paged) return this.append(seq, size, redelivered, f.expiresAt, position, null)
    if (size > INLINE_BODY_MAX || propertiesLength > INLINE_BODY_MAX) {
      // Copied out: the read buffer it is in is not kept
      const exchangeEnd = f.routeStart + 1 + src[f.routeStart]!
      const message = new Message(
        src.toString('utf8', f.routeStart + 1, exchangeEnd),
        src.toString('utf8', exchangeEnd + 1, f.routeEnd),
        undefined,
        Buffer.from(src.subarray(f.propertiesStart, f.propertiesEnd)),
        Buffer.from(src.subarray(f.bodyStart, f.bodyEnd)),
      )
      return this.append(seq, size, redelivered, f.expiresAt, position, message)
    }
    let flags =
      (redelivered ? REDELIVERED : 0) | (f.expiresAt !== 0 ? HAS_EXPIRY : 0) | (position >= 0 ? HAS_POSITION : 0)
    const routeLength = f.routeEnd - f.routeStart
    const chunk = this.writeChunk(MAX_HEADER_BYTES + size + propertiesLength)
    const b = chunk.bytes!
    if (
      this.lastRouteAt >= 0 &&
      routeLength === this.lastRouteLength &&
      sameBytes(src, f.routeStart, b, this.lastRouteAt, routeLength)
    )
      flags |= SAME_ROUTE
    if (
      this.lastPropertiesAt >= 0 &&
      propertiesLength === this.lastPropertiesLength &&
      sameBytes(src, f.propertiesStart, b, this.lastPropertiesAt, propertiesLength)
    )
      flags |= SAME_PROPERTIES
    // The string state no longer says what the last full record held
    this.lastExchange = undefined
    let p = chunk.end
    b[p++] = flags
    p = b.writeDoubleLE(seq, p)
    p = b.writeUInt32LE(size, p)
    if (flags & HAS_EXPIRY) p = b.writeDoubleLE(f.expiresAt, p)
    if (flags & HAS_POSITION) p = b.writeDoubleLE(position, p)
    if (!(flags & SAME_ROUTE)) {
      // The store's route is this one's: a length byte and UTF-8 bytes, for the exchange and the routing key
      this.lastRouteAt = p
      this.lastRouteLength = routeLength
      p = copyBytes(src, f.routeStart, f.routeEnd, b, p)
    }
    if (!(flags & SAME_PROPERTIES)) {
      p = b.writeUInt32LE(propertiesLength, p)
      this.lastPropertiesAt = p
      this.lastPropertiesLength = propertiesLength
      p = copyBytes(src, f.propertiesStart, f.propertiesEnd, b, p)
    }
    p = copyBytes(src, f.bodyStart, f.bodyEnd, b, p)
    chunk.end = p
    this.count++
  }

  /** The chunk to write a record of at most `need` bytes into: the last one, or a new one. */
  private writeChunk(need: number): Chunk {
    const last = this.chunks.at(this.chunks.length - 1)
    // (the last chunk is never paged out: bytes are there)
    if (last !== undefined && last.end + need <= last.bytes!.length) return last
    const host = this.host
    const size = Math.min(CHUNK_SIZES[this.chunksMade++] ?? LARGE_CHUNK_BYTES, host?.pages.maxChunkBytes ?? Infinity)
    const chunk = new Chunk(Buffer.allocUnsafeSlow(Math.max(size, need)))
    this.chunks.push(chunk)
    // A chunk was completed: past the budget, the completed ones the head is not near go to pages
    if (host !== undefined && this.chunks.length >= 4 && host.memory.used > host.memory.budget) this.pageOut(host)
    // A chunk's first record is always full: readers need no state from an earlier chunk
    this.lastExchange = undefined
    this.lastProperties = EMPTY
    this.lastRouteAt = -1
    this.lastPropertiesAt = -1
    return chunk
  }

  peek(): QueueEntry | undefined {
    if (this.count === 0) return undefined
    if (this.headEntry === undefined) {
      const cursor = this.head
      const first = this.chunks.peek()!
      if (first.bytes === null) {
        // Its page is being read back (or waits for a retry): headLoaded() tells the queue
        this.prefetch()
        return PAGE_PENDING
      }
      this.headEntry = readRecord(first, cursor, false)
      this.headEnd = cursor.offset
      // readRecord moved the cursor past the record: put it back until the entry is shifted
      cursor.offset = this.headStart
    }
    return this.headEntry
  }

  /** Where the head record starts in the first chunk */
  private headStart = 0

  shift(): QueueEntry | undefined {
    const entry = this.peek()
    if (entry === undefined || entry === PAGE_PENDING) return undefined
    this.headEntry = undefined
    this.count--
    const first = this.chunks.peek()!
    if (this.count === 0) {
      // Empty: every chunk goes, so a drained queue holds no memory
      this.clear()
      return entry
    }
    this.head.offset = this.headEnd
    this.headStart = this.headEnd
    if (this.head.offset >= first.end && this.chunks.length > 1) {
      this.chunks.shift()!.left = true
      this.head.offset = 0
      this.headStart = 0
      // The head is in the next chunk now: it, and the one after, are read back if they were paged out
      if (this.host !== undefined) this.prefetch()
    }
    return entry
  }

  /** Removes everything. */
  clear(): void {
    // Nothing left to page: no retry after a failed write
    this.host?.pages.forget(this)
    for (const chunk of this.chunks) this.leave(chunk)
    this.chunks.clear()
    this.chunksMade = 0
    this.count = 0
    this.headEntry = undefined
    this.head = emptyCursor()
    this.headStart = 0
    this.lastExchange = undefined
    this.lastProperties = EMPTY
    this.lastRouteAt = -1
    this.lastPropertiesAt = -1
  }

  /** Every entry from the head on, each made anew (the head as peek made it). Paged-out chunks are read synchronously. */
  *entries(): IterableIterator<QueueEntry> {
    if (this.count === 0) return
    const cursor = { ...this.head }
    let first = true
    for (let i = 0; i < this.chunks.length; i++) {
      let chunk = this.chunks.at(i)!
      if (i > 0) cursor.offset = 0
      if (chunk.bytes === null) chunk = this.readCopy(chunk)
      while (cursor.offset < chunk.end) {
        const entry = readRecord(chunk, cursor, false)
        yield first && this.headEntry !== undefined ? this.headEntry : entry
        first = false
      }
    }
  }

  /**
   * Calls `visit` for every entry from the head on, without making entries or messages; of a paged-out
   * chunk, only for the messages with a store position (none of its messages is in memory).
   */
  forEachRecord(visit: (redelivered: boolean, position: number, size: number, inMemory: boolean) => void): void {
    if (this.count === 0) return
    const cursor = { ...this.head }
    for (let i = 0; i < this.chunks.length; i++) {
      const chunk = this.chunks.at(i)!
      if (i > 0) cursor.offset = 0
      if (chunk.bytes === null) {
        const stored = chunk.stored ?? []
        for (let s = 0; s < stored.length; s += 3) visit(stored[s + 2] === 1, stored[s]!, stored[s + 1]!, false)
        continue
      }
      while (cursor.offset < chunk.end) {
        const entry = readRecord(chunk, cursor, true)
        visit(entry.redelivered, entry.position, entry.size, entry.message !== null)
      }
    }
  }

  // Paging out and back in (a run with a host only)

  /** Writes completed chunks, the newest first, from the third on, until what is left in memory fits the budget. */
  private pageOut(host: PageHost): void {
    const { pages, memory } = host
    if (!pages.usable()) {
      // Writes pause after a failure: the page area calls retryPaging once the pause is over
      pages.retryLater(this)
      return
    }
    for (let i = this.chunks.length - 2; i >= 2; i--) {
      if (memory.used - pages.writingBytes <= memory.budget) return
      const chunk = this.chunks.at(i)!
      if (chunk.state === IN_MEMORY && !chunk.pageless) this.writePage(host, chunk)
    }
  }

  private writePage(host: PageHost, chunk: Chunk): void {
    summarize(chunk)
    if (chunk.inMemoryCount === 0) {
      // Every message is in the store already: the page would free nothing the budget counts
      chunk.pageless = true
      chunk.stored = undefined
      return
    }
    chunk.state = WRITING
    const path = host.pages.newPath()
    chunk.page = path
    void host.pages.write(path, encodePage(chunk, host.pages.run), chunk.inMemoryBytes).then((written) => {
      if (!written) {
        // Kept in memory; tried again once the page area's pause is over (retryPaging), or by a later chunk
        chunk.state = IN_MEMORY
        chunk.page = undefined
        chunk.stored = undefined
        if (!chunk.left) host.pages.retryLater(this)
      } else if (chunk.left || chunk === this.chunks.at(0) || chunk === this.chunks.at(1)) {
        // The run dropped it, or the head came near while it was written: it stays (or went) as it is
        host.pages.remove(path)
        chunk.page = undefined
        chunk.state = IN_MEMORY
      } else {
        chunk.state = PAGED_OUT
        chunk.bytes = null
        chunk.objects = undefined
        host.pagedOut(chunk.inMemoryCount, chunk.inMemoryBytes)
      }
    })
  }

  /**
   * The page area's pause after a failed write is over (a timer, store/transient-pages.ts): pages out what
   * is still over the budget, with no chunk completed to trigger it (traffic may have stopped).
   */
  retryPaging(): void {
    const host = this.host
    if (host !== undefined && this.chunks.length >= 4 && host.memory.used > host.memory.budget) this.pageOut(host)
  }

  /** Starts reading back the first two chunks if they are paged out (and not waiting for a retry). */
  private prefetch(): void {
    for (let i = 0; i < 2 && i < this.chunks.length; i++) {
      const chunk = this.chunks.at(i)!
      if (chunk.state === PAGED_OUT && chunk.retry === undefined) this.readPage(this.host!, chunk)
    }
  }

  private readPage(host: PageHost, chunk: Chunk): void {
    chunk.state = READING
    host.pages.read(chunk.page!).then(
      (page) => {
        if (chunk.left || chunk.state !== READING) return
        try {
          this.restore(host, chunk, page)
        } catch (err) {
          this.readFailed(host, chunk, err)
          return
        }
        if (chunk === this.chunks.peek()) host.headLoaded()
      },
      (err: unknown) => {
        if (!chunk.left && chunk.state === READING) this.readFailed(host, chunk, err)
      },
    )
  }

  /**
   * A page could not be read. For a fault that passes (EIO, EMFILE...) it stays paged out and is tried again
   * later, doubling the wait up to 5 s; a page that is gone or damaged never comes back: its messages are lost.
   */
  private readFailed(host: PageHost, chunk: Chunk, err: unknown): void {
    chunk.state = PAGED_OUT
    // The broker stopped (its page area is gone): nothing to retry
    if (!host.pages.isOpen) return
    if (!isTransientReadError(err)) return this.dropLost(host, chunk, err, true)
    const failures = ++chunk.readFailures
    const delay = Math.min(50 * 2 ** Math.min(failures - 1, 16), 5_000)
    if (failures === 1 || failures % 100 === 0) host.readFailing(err, delay, failures)
    chunk.retry = setTimeout(() => {
      chunk.retry = undefined
      if (!chunk.left && chunk.state === PAGED_OUT) this.readPage(host, chunk)
    }, delay)
    chunk.retry.unref()
  }

  /** Puts a page read back into its chunk; its file goes. Throws on a damaged page. */
  private restore(host: PageHost, chunk: Chunk, page: Buffer): void {
    decodePage(chunk, page, host.pages.run)
    chunk.state = IN_MEMORY
    host.pages.remove(chunk.page!)
    chunk.page = undefined
    chunk.stored = undefined
    host.pagedIn(chunk.inMemoryCount, chunk.inMemoryBytes)
    if (chunk.readFailures > 0) {
      host.readResumed(chunk.readFailures)
      chunk.readFailures = 0
    }
  }

  /**
   * Reads the head's page now, synchronously (basic.get: a client asking for one message waits for it rather
   * than being told the queue is empty). False when it cannot be read; the asynchronous read goes on.
   */
  loadHeadNow(): boolean {
    const first = this.chunks.peek()
    if (this.count === 0 || first === undefined || first.bytes !== null) return true
    const host = this.host!
    try {
      this.restore(host, first, host.pages.readSync(first.page!))
    } catch (err) {
      // restore may have failed after decoding: the chunk is as it was
      first.bytes = null
      first.objects = undefined
      if (!host.pages.isOpen || isTransientReadError(err)) return false
      // Gone or damaged: dropped, the caller looks at the new head
      this.dropLost(host, first, err, false)
    }
    return true
  }

  /**
   * A paged-out chunk whose page can never be read (gone, damaged, another process's): its messages are
   * dropped (the host counts and logs them) and the run goes on with the next chunk, in order. With
   * `resume`, a queue waiting for it as its head is told to go on.
   */
  private dropLost(host: PageHost, chunk: Chunk, err: unknown, resume: boolean): void {
    const wasHead = chunk === this.chunks.peek()
    this.chunks.removeWhere((c) => c === chunk)
    this.leave(chunk)
    this.count -= chunk.records
    if (wasHead) {
      // (never inside a chunk that was paged out: the head entered it at its start)
      this.head = emptyCursor()
      this.headStart = 0
      this.headEntry = undefined
    }
    host.lost(err, chunk.records, chunk.recordBytes, (chunk.stored?.length ?? 0) / 3)
    chunk.stored = undefined
    if (this.count === 0) this.clear()
    else this.prefetch()
    if (wasHead && resume) host.headLoaded()
  }

  /** A paged-out chunk's records, read synchronously into a copy (the chunk stays paged out). */
  private readCopy(chunk: Chunk): Chunk {
    const copy = new Chunk(EMPTY)
    copy.end = chunk.end
    copy.page = chunk.page
    decodePage(copy, this.host!.pages.readSync(chunk.page!), this.host!.pages.run)
    return copy
  }

  /** The run no longer holds `chunk`: its page goes (a page being written goes when the write ends). */
  private leave(chunk: Chunk): void {
    chunk.left = true
    clearTimeout(chunk.retry)
    chunk.retry = undefined
    if (chunk.page !== undefined && chunk.state !== WRITING) {
      this.host!.pages.remove(chunk.page)
      chunk.page = undefined
    }
  }
}
