// A chunk of packed records (packed-run.ts) and how it is written to the page area of transient messages
// (store/transient-pages.ts) and read back. A page is the chunk's record bytes as they are, then the messages
// the chunk keeps as objects (large bodies, BCC keys), so a page holds every message of its chunk and
// nothing of it stays in memory but what the queue must know without reading it back: how many messages and
// body bytes it holds, and the store position, size and redelivered flag of those a durable queue stored.
import type { TransientPages } from '../../store/transient-pages.js'
import type { MessageMemory } from '../message-memory.js'
import { Message, type QueueEntry } from '../message.js'

/** Where a chunk's records are */
export const IN_MEMORY = 0
/** In memory, and being written to a page: it is freed when the write ends, unless the head reached it */
export const WRITING = 1
/** In a page file only */
export const PAGED_OUT = 2
/** In a page file, being read back */
export const READING = 3

export class Chunk {
  /** The records; null while the chunk is paged out */
  bytes: Buffer | null
  /** Where the next record goes */
  end = 0
  objects: Message[] | undefined
  state = IN_MEMORY
  /** Its page file, while written, paged out or read back */
  page: string | undefined
  /** Dropped by its run (the head left it, or the run was cleared): whatever is still going on with it ends */
  left = false
  /** Set when it was found to hold nothing worth paging (every message is in the store already) */
  pageless = false
  // What the queue needs of it while paged out (summarize)
  inMemoryCount = 0
  inMemoryBytes = 0
  /** Store position, body size and redelivered (1/0) of each record with a store position, in order */
  stored: number[] | undefined
  /** All its records and their body bytes, those paged out to the store included (what is lost with its page) */
  records = 0
  recordBytes = 0
  /** Failed reads of its page in a row, and the retry's timer */
  readFailures = 0
  retry: NodeJS.Timeout | undefined

  constructor(bytes: Buffer) {
    this.bytes = bytes
  }
}

/** What a packed run that pages out asks of its queue. */
export interface PageHost {
  readonly pages: TransientPages
  readonly memory: MessageMemory
  /** `count` messages of `bytes` body bytes left memory for a page (written) */
  pagedOut(count: number, bytes: number): void
  /** ... or came back from one (read) */
  pagedIn(count: number, bytes: number): void
  /** The page the head waited for is read back: the queue may deliver again */
  headLoaded(): void
  /** A page could not be read for now; the next try is in retryMs (at the first failure, then every 100th) */
  readFailing(err: unknown, retryMs: number, failures: number): void
  /** A page was read after `failures` failed tries */
  readResumed(failures: number): void
  /**
   * A page can never be read (its file is gone, or damaged, or another process wrote it): its chunk's
   * `count` messages of `bytes` body bytes, all paged out (to the page, or to the store), are dropped;
   * `inStore` of them are persistent ones left unacked in the store (a later start recovers them).
   */
  lost(err: unknown, count: number, bytes: number, inStore: number): void
}

/**
 * peek()'s answer while the head's chunk is being read back from its page: no message can be taken yet (the
 * queue waits for headLoaded, so nothing overtakes it). Never shifted, never changed.
 */
export const PAGE_PENDING: QueueEntry = Object.freeze({
  message: null,
  size: 0,
  seq: -1,
  redelivered: false,
  expiresAt: 0,
  position: -1,
}) as QueueEntry

/**
 * A page's content: [u32 run][u32 record bytes][u32 objects] records, then per object [u32 length + UTF-8] exchange,
 * routing key, [u32 count + 1, or 0 for none] BCC keys (each u32 length + UTF-8), [u32] properties length, [u32] body length,
 * the properties and the body. Bodies are handed to the write as they are (no copy).
 */
/** The run (store/transient-pages.ts) that wrote the page, its record bytes, its objects */
const PAGE_HEADER_BYTES = 12

export function encodePage(chunk: Chunk, run: number): Buffer[] {
  const head = Buffer.allocUnsafe(PAGE_HEADER_BYTES)
  const objects = chunk.objects ?? []
  head.writeUInt32LE(run, 0)
  head.writeUInt32LE(chunk.end, 4)
  head.writeUInt32LE(objects.length, 8)
  const out = [head, chunk.bytes!.subarray(0, chunk.end)]
  for (const m of objects) {
    const keys = m.bccKeys ?? []
    let length = 4 + Buffer.byteLength(m.exchange) + 4 + Buffer.byteLength(m.routingKey) + 4 + 8
    for (const key of keys) length += 4 + Buffer.byteLength(key)
    const meta = Buffer.allocUnsafe(length)
    let p = writeText(meta, 0, m.exchange)
    p = writeText(meta, p, m.routingKey)
    // 0: no BCC keys (undefined), else their count + 1
    p = meta.writeUInt32LE(m.bccKeys === undefined ? 0 : keys.length + 1, p)
    for (const key of keys) p = writeText(meta, p, key)
    p = meta.writeUInt32LE(m.propertiesRaw.length, p)
    meta.writeUInt32LE(m.body.length, p)
    out.push(meta, m.propertiesRaw, m.body)
  }
  return out
}

function writeText(to: Buffer, at: number, text: string): number {
  const length = to.write(text, at + 4, 'utf8')
  to.writeUInt32LE(length, at)
  return at + 4 + length
}

/**
 * Puts a page's records and objects back into `chunk` (whose `end` must match); throws on a malformed page,
 * or one another run wrote (a second process on the data directory, which only deleting its lock allows).
 */
export function decodePage(chunk: Chunk, page: Buffer, run: number): void {
  if (page.length < PAGE_HEADER_BYTES || page.readUInt32LE(0) !== run)
    throw new Error(`transient page ${chunk.page} was not written by this broker`)
  const end = page.readUInt32LE(4)
  const count = page.readUInt32LE(8)
  if (end !== chunk.end || PAGE_HEADER_BYTES + end > page.length)
    throw new Error(`transient page ${chunk.page} is damaged`)
  let p = PAGE_HEADER_BYTES + end
  const text = (): string => {
    const length = page.readUInt32LE(p)
    p += 4 + length
    if (p > page.length) throw new Error(`transient page ${chunk.page} is cut short`)
    return page.toString('utf8', p - length, p)
  }
  const objects: Message[] = []
  for (let i = 0; i < count; i++) {
    const exchange = text()
    const routingKey = text()
    const keyCount = page.readUInt32LE(p)
    p += 4
    const keys: string[] = []
    for (let k = 1; k < keyCount; k++) keys.push(text())
    const propertiesLength = page.readUInt32LE(p)
    const bodyLength = page.readUInt32LE(p + 4)
    p += 8
    const bodyStart = p + propertiesLength
    p = bodyStart + bodyLength
    if (p > page.length) throw new Error(`transient page ${chunk.page} is cut short`)
    // Copies: a message may live on unacked long after the page's buffer is gone
    objects.push(
      new Message(
        exchange,
        routingKey,
        undefined,
        Buffer.from(page.subarray(bodyStart - propertiesLength, bodyStart)),
        Buffer.from(page.subarray(bodyStart, p)),
        keyCount > 0 ? keys : undefined,
      ),
    )
  }
  chunk.bytes = page.subarray(PAGE_HEADER_BYTES, PAGE_HEADER_BYTES + end)
  chunk.objects = count > 0 ? objects : undefined
}
