// A queue: ready messages in publish order (or by priority), the consumers that take them in turn, and
// the count of messages delivered but not yet settled. Delivery runs in a loop scheduled once per tick,
// however many messages arrive in it, and stops as soon as no consumer can take more. Messages leave by
// ack, or die: rejected, expired (TTL) or pushed out by a length limit, and go to the dead-letter exchange
// when there is one.
import type { FieldTable } from '../../protocol/field-value.js'
import type { DeathReason } from '../dead-letter.js'
import type { LoadedEntry, QueueEntry } from '../message.js'
import type { MessageMemory } from '../message-memory.js'
import type { Consumer as AnyConsumer } from './consumer.js'
import { ConsumerRing } from './consumer-ring.js'
import { ReadyMessages } from './ready-messages.js'
import { expiryOf, queueSettings, type QueueSettings } from './queue-settings.js'
import type { QueueStore, RecordFields } from '../../store/message-store.js'
import type { Message } from '../message.js'
import { PagedReads } from './paged-reads.js'
import { PAGE_PENDING } from './packed-pages.js'
import { LongTimer } from '../../util/long-timer.js'
import { resourceError } from '../../protocol/errors.js'
import { QueueCounters } from '../stats.js'

/** Flow control marks: above HIGH ready messages while consumers drain it, publishers are slowed until LOW. */
const FLOW_HIGH = 2_000
const FLOW_LOW = 1_000

/**
 * What a queue did with a published message: took it ('enqueued'), took it and wrote it to the store
 * ('stored': its confirm waits for the sync), or refused it ('refused': a length limit with x-overflow
 * reject-publish, or the store failed; the publisher gets a basic.nack).
 */
export type EnqueueOutcome = 'enqueued' | 'stored' | 'refused'

export interface QueueOptions {
  durable: boolean
  exclusive: boolean
  autoDelete: boolean
  arguments: FieldTable
}

/** A consumer of this queue */
export type Consumer = AnyConsumer<Queue>

/** What a queue asks of its vhost. */
export interface QueueHooks {
  /** An auto-delete queue lost its last consumer, or an x-expires queue went unused */
  remove(queue: Queue): void
  /** A message died here and the queue has a dead-letter exchange */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void
  /** The broker's budget of message bytes kept in memory */
  readonly memory: MessageMemory
  /** Work the queue runs on its own (delivery, expiry) failed, e.g. a paged-out message is damaged on disk */
  failed(queue: Queue, err: unknown): void
  /** A paged-out message could not be read for now (EMFILE, EIO...): it is retried in retryMs */
  readFailing?(queue: Queue, err: unknown, retryMs: number, failures: number): void
  /** Reads work again after `failures` failed attempts */
  readResumed?(queue: Queue, failures: number): void
  /**
   * A page of transient messages can never be read back (gone or damaged): `count` messages were dropped,
   * `inStore` of them persistent ones left unacked in the store (a later start recovers them)
   */
  pageLost?(queue: Queue, err: unknown, count: number, inStore: number): void
}

export class Queue {
  readonly kind = 'queue' as const
  private readonly ready: ReadyMessages
  private readonly consumers = new ConsumerRing<Consumer>()
  private nextSeq = 0
  private drainScheduled = false
  private hadConsumer = false
  /** Fires when the head message's TTL runs out; the delays are the client's, so they may exceed 24.8 days */
  private expiryTimer: LongTimer | undefined
  /** Fires when an x-expires queue has gone unused for that long */
  private unusedTimer: LongTimer | undefined
  /** Reads of paged-out messages, retried while they fail for a reason that passes */
  private readonly reads: PagedReads
  settings: QueueSettings
  /** Messages delivered and not yet acked, rejected or requeued */
  unackedCount = 0
  /** Their body bytes (Prometheus's rabbitmq_queue_messages_unacked_bytes) */
  unackedBytes = 0
  /**
   * Body bytes of its messages in the store, ready or unacked (RabbitMQ's message_bytes_persistent; their
   * count is the store's messageCount): added as a message is appended or recovered, taken off as the store
   * forgets it
   */
  persistentBytes = 0
  deleted = false
  /** Publishes, deliveries, gets and acks counted (stats.ts) */
  readonly stats = new QueueCounters()

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    /** The connection an exclusive queue belongs to */
    readonly owner: object | null,
    policy: FieldTable,
    private readonly hooks: QueueHooks,
    /** Where a durable queue writes its persistent messages; null for transient and exclusive queues */
    private storeOfQueue: QueueStore | null = null,
  ) {
    this.settings = queueSettings(options.arguments, policy)
    this.ready = new ReadyMessages(this.settings.maxPriority, hooks.memory, {
      // The page the head waited for is in: what it held up goes on
      headLoaded: () => this.guarded(() => this.resumeReads()),
      readFailing: (err, retryMs, failures) => this.hooks.readFailing?.(this, err, retryMs, failures),
      readResumed: (failures) => this.hooks.readResumed?.(this, failures),
      // (the queue goes on with the next chunk: headLoaded follows when it waited for this one)
      lost: (err, count, _bytes, inStore) => this.hooks.pageLost?.(this, err, count, inStore),
      disk: this.stats,
    })
    this.reads = new PagedReads({
      retry: () => this.guarded(() => this.resumeReads()),
      failing: (err, retryMs, failures) => this.hooks.readFailing?.(this, err, retryMs, failures),
      resumed: (failures) => {
        this.hooks.readResumed?.(this, failures)
        // What waited behind the unreadable head: expiry (its timer was not armed meanwhile) and deliveries
        this.scheduleDrain()
      },
    })
  }

  /**
   * A durable queue restored at start: its store is opened (openStore) while the messages it recovers are
   * pushed in, in order; beyond the memory budget only their positions are kept, so recovering a long queue
   * does not hold every body in memory. The queue is whole when this returns.
   */
  static async recover(
    name: string,
    vhost: string,
    options: QueueOptions,
    policy: FieldTable,
    hooks: QueueHooks,
    openStore: (push: (fields: RecordFields, position: number, redelivered: boolean) => void) => Promise<QueueStore>,
  ): Promise<Queue> {
    const queue = new Queue(name, vhost, options, null, policy, hooks)
    queue.storeOfQueue = await openStore((fields, position, redelivered) =>
      queue.recoverMessage(fields, position, redelivered),
    )
    return queue
  }

  /** Where it writes its persistent messages: null for transient and exclusive queues, and once deleted. */
  get store(): QueueStore | null {
    return this.storeOfQueue
  }

  get durable(): boolean {
    return this.options.durable
  }

  get messageCount(): number {
    return this.ready.length
  }

  get consumerCount(): number {
    return this.consumers.size
  }

  get hasExclusiveConsumer(): boolean {
    return this.consumers.first?.exclusive ?? false
  }

  /** The consumer that gets the messages of a single-active-consumer queue (the first); undefined otherwise */
  get activeConsumer(): Consumer | undefined {
    return this.settings.singleActiveConsumer ? this.consumers.first : undefined
  }

  /** A policy was set or cleared: the queue's own arguments still win. */
  applyPolicy(policy: FieldTable): void {
    const before = this.settings.expires
    this.settings = queueSettings(this.options.arguments, policy)
    if (this.settings.expires !== before) this.touch()
    if (this.settings.overflow === 'drop-head') this.dropHeadsOverLimit()
  }

  /** Starts the x-expires countdown; called when the queue is declared. */
  start(): void {
    this.touch()
  }

  /** Publishers waiting for this queue's backlog to shrink (flow control) */
  private flowWaiters: Set<{ flowResume(): void }> | undefined

  /** Consumers are draining it but messages pile up: publishers to it should slow down. */
  get backlogged(): boolean {
    return this.ready.length > FLOW_HIGH && this.consumers.size > 0
  }

  waitUntilDrained(waiter: { flowResume(): void }): void {
    ;(this.flowWaiters ??= new Set()).add(waiter)
  }

  /** Lets waiting publishers go once the backlog is low, or can no longer shrink (no consumers, deleted). */
  private releaseFlow(): void {
    const waiters = this.flowWaiters
    if (!waiters) return
    if (this.ready.length > FLOW_LOW && this.consumers.size > 0 && !this.deleted) return
    this.flowWaiters = undefined
    for (const w of waiters) w.flowResume()
  }

  /** A message left the queue for good (acked, dropped, dead-lettered): the store forgets it too. */
  private forget(entry: QueueEntry): void {
    if (entry.position >= 0) this.forgetStored(entry.position, entry.size)
  }

  private forgetStored(position: number, size: number): void {
    const store = this.storeOfQueue
    if (store === null) return
    store.ack(position)
    this.persistentBytes -= size
  }

  /** A message recovered from the store at start (see recover): packed, or left in the store. */
  private recoverMessage(fields: RecordFields, position: number, redelivered: boolean): void {
    const paged = this.hooks.memory.full(fields.bodyLength)
    this.persistentBytes += fields.bodyLength
    // (The expiry was stored with the message: its TTL goes on counting from the publish)
    this.ready.pushRecovered({ seq: this.nextSeq++, redelivered, position, fields, paged })
    if (this.ready.length === 1) this.scheduleExpiry()
  }

  /** Ready messages now paged out to the store. */
  get pagedOut(): number {
    return this.ready.pagedOut
  }
  /** Their body bytes */
  get pagedOutBytes(): number {
    return this.ready.pagedOutBytes
  }

  /** Body bytes of the ready messages */
  get messageBytes(): number {
    return this.ready.bytes
  }

  /**
   * The timestamp property (seconds) of the message at the head, if it has one and is in memory: RabbitMQ's
   * head_message_timestamp (a paged-out head is not read for it)
   */
  get headTimestamp(): number | undefined {
    return this.ready.peek()?.message?.properties.timestamp
  }

  /**
   * Removes the head of the ready list. A paged-out message is read back from the store first, unless the
   * caller only drops it (load = false, when there is no dead-letter exchange to send it to). Returns
   * undefined when the list is empty, or when the head could not be read: after a transient fault it stays
   * at the head (`readBlocked`) and a retry is scheduled; a damaged record is dropped with an error log (the
   * caller looks at the list again). While a retry is pending no read is tried, unless `now` (basic.get).
   */
  private shiftReady(load = true, now = false): QueueEntry | undefined {
    const entry = this.ready.peek()
    if (!entry) return undefined
    if (entry === PAGE_PENDING) {
      // The head's page of transient messages is being read back: the queue waits for it (headLoaded),
      // except basic.get, which reads it now
      if (!now || !this.ready.loadHeadNow()) return undefined
      return this.shiftReady(load, now)
    }
    let message = entry.message
    if (message === null && load) {
      try {
        message = this.reads.read(this.storeOfQueue!, entry.position, now) ?? null
      } catch (err) {
        // Permanent: left unacked on disk (a later start's recovery skips it if it is damaged)
        this.ready.removeHead(entry)
        this.hooks.failed(this, err)
        return undefined
      }
      if (message === null) return undefined
      this.stats.diskReads++
    }
    this.ready.removeHead(entry)
    entry.message = message
    return entry
  }

  /**
   * The paged-out head cannot be read now: it waits (deliveries, expiry and drops behind it too), and is
   * retried; or its page of transient messages is being read back.
   */
  get readBlocked(): boolean {
    return this.reads.blocked || this.ready.peek() === PAGE_PENDING
  }

  /** What the unreadable head held up: expiry, drop-head over a limit, deliveries. */
  private resumeReads(): void {
    if (this.deleted) return
    if (this.settings.overflow === 'drop-head') this.dropHeadsOverLimit()
    // drain expires heads first, then delivers if a consumer can take more, then schedules the next expiry
    this.drain()
  }

  /**
   * Ready messages in the order consumers get them (peek.ts), each made anew from a packed record; pages of
   * transient messages are read synchronously for it.
   */
  *readyEntries(): IterableIterator<QueueEntry> {
    yield* this.ready.entries()
  }

  /** Store positions of the ready messages flagged redelivered, for the clean-shutdown record. */
  redeliveredPositions(): number[] {
    return this.ready.redeliveredPositions()
  }

  /** Adds a published message (or a dead letter), or refuses it. */
  enqueue(message: Message): EnqueueOutcome {
    const s = this.settings
    const overflows = this.wouldOverflow(message)
    if (overflows) {
      if (s.overflow === 'reject-publish' || s.overflow === 'reject-publish-dlx') {
        if (s.overflow === 'reject-publish-dlx') this.deadLetter(message, 'maxlen')
        return 'refused'
      }
    }
    const ttl = expiryOf(message, s.messageTtl)
    const expiresAt = ttl === undefined ? 0 : Date.now() + ttl
    const stored = this.storeOfQueue !== null && message.persistent && ttl !== 0
    let position = -1
    if (stored) {
      try {
        position = this.storeOfQueue!.appendRecord(message, expiresAt)
      } catch {
        // The store has failed (disk full, I/O error) or closed: refused, so the publisher gets a nack
        return 'refused'
      }
      this.stats.diskWrites++
      this.persistentBytes += message.body.length
    }
    const page = stored && this.hooks.memory.full(message.body.length)
    const entry: QueueEntry = {
      message: page ? null : message,
      size: message.body.length,
      seq: this.nextSeq++,
      redelivered: false,
      expiresAt,
      position,
    }
    // TTL 0 at the head: delivered only if a consumer can take it right now, otherwise it expires at once.
    // Behind other messages it waits, expired, until it reaches the head (as in RabbitMQ, where it counts in
    // the queue's length until then), except in a queue whose own TTL is 0 and has no dead-letter exchange,
    // which RabbitMQ never fills (rabbit_amqqueue_process:deliver_or_enqueue)
    const discardUndelivered = s.messageTtl === 0 && s.deadLetterExchange === undefined
    if (ttl === 0 && (this.ready.length === 0 || discardUndelivered)) {
      const consumer = this.ready.length === 0 ? this.nextConsumerWithCredit() : undefined
      entry.message = message
      if (consumer) {
        if (consumer.noAck) message.deliveredAtOnce++
        this.deliverTo(consumer, entry as LoadedEntry)
      }
      // a length limit drops it before its TTL does (RabbitMQ enqueues it, then drops the head over the limit)
      else this.die(entry, this.ready.length === 0 && overflows ? 'maxlen' : 'expired')
      return 'enqueued'
    }
    if (this.ready.length === 0 && this.consumers.size > 0) {
      // Straight to a consumer that can take it, as RabbitMQ's attempt_delivery: a queue its consumers keep
      // empty stays empty, so a burst of publishes never counts against a length limit
      const consumer = this.nextConsumerWithCredit()
      if (consumer) {
        entry.message = message
        if (consumer.noAck) message.deliveredAtOnce++
        this.deliverTo(consumer, entry as LoadedEntry)
        return stored ? 'stored' : 'enqueued'
      }
    }
    this.ready.push(entry, message)
    if (s.overflow === 'drop-head' && this.overLimit()) {
      // Consumers waiting for messages get them before the limit drops any, as in RabbitMQ
      if (this.consumers.size > 0) this.drain()
      this.dropHeadsOverLimit()
    }
    // the head's TTL is watched (the new message's, or another's that a drop-head brought to the front)
    if (this.ready.peek()?.expiresAt) this.scheduleExpiry()
    if (this.consumers.size > 0) this.scheduleDrain()
    return stored ? 'stored' : 'enqueued'
  }

  private wouldOverflow(message: Message): boolean {
    const { maxLength, maxLengthBytes } = this.settings
    if (maxLength !== undefined && this.ready.length + 1 > maxLength) return true
    return maxLengthBytes !== undefined && this.ready.bytes + message.body.length > maxLengthBytes
  }

  private overLimit(): boolean {
    const { maxLength, maxLengthBytes } = this.settings
    return (
      (maxLength !== undefined && this.ready.length > maxLength) ||
      (maxLengthBytes !== undefined && this.ready.bytes > maxLengthBytes)
    )
  }

  private dropHeadsOverLimit(): void {
    const load = this.settings.deadLetterExchange !== undefined
    while (this.ready.length > 0 && this.overLimit()) {
      const entry = this.shiftReady(load)
      if (entry) this.die(entry, 'maxlen')
      else if (this.readBlocked) return
    }
  }

  /**
   * Takes the next ready message for basic.get. Throws 506 RESOURCE_ERROR (the channel closes) while the
   * head is paged out and cannot be read: get-empty would tell the client the queue is empty.
   */
  take(noAck: boolean): LoadedEntry | undefined {
    this.touch()
    this.expireHeads()
    let entry: LoadedEntry | undefined
    while (this.ready.length > 0 && !entry) {
      entry = this.shiftReady(true, true) as LoadedEntry | undefined
      if (!entry && this.readBlocked) {
        throw resourceError(
          `cannot read the next message of queue '${this.name}' in vhost '${this.vhost}' from disk now` +
            ` (${this.reads.lastErrorCode}); it stays in the queue, try again later`,
        )
      }
      // Expired while it could not be read (expireHeads stopped at it): it dies now that it can be
      if (entry && entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
        this.die(entry, 'expired')
        entry = undefined
      }
    }
    if (!entry) {
      this.stats.getEmpty++
      return undefined
    }
    if (noAck) this.forget(entry)
    else {
      this.unackedCount++
      this.unackedBytes += entry.size
    }
    this.stats.countGet(noAck, entry.redelivered)
    // expired messages that the take brought to the head go now: get-ok's message count leaves them out;
    // and the new head's TTL is watched
    this.expireHeads()
    if (this.ready.peek()?.expiresAt) this.scheduleExpiry()
    return entry
  }

  addConsumer(consumer: Consumer): void {
    this.consumers.add(consumer)
    this.hadConsumer = true
    this.unusedTimer?.stop()
    this.scheduleDrain()
  }

  removeConsumer(consumer: Consumer): void {
    if (!this.consumers.remove(consumer)) return
    if (this.consumers.size > 0) {
      // With a single active consumer, the next one in line may now take over
      if (this.settings.singleActiveConsumer) this.scheduleDrain()
      return
    }
    this.releaseFlow()
    if (this.hadConsumer && this.options.autoDelete && !this.deleted) this.hooks.remove(this)
    else this.touch()
  }

  /** A delivered message was acked. */
  ack(entry: QueueEntry): void {
    this.settled(entry)
    this.stats.ack++
    this.forget(entry)
  }

  /** A delivered message was rejected or nacked without requeue: it dies (dead-lettered if configured). */
  reject(entry: QueueEntry): void {
    this.settled(entry)
    this.die(entry, 'rejected')
  }

  /** A delivery is no longer unacked */
  private settled(entry: QueueEntry): void {
    if (this.unackedCount === 0) return
    this.unackedCount--
    this.unackedBytes -= entry.size
  }

  /**
   * Delivered messages go back, each to its original position, marked redelivered. With `deliverNow`, they
   * are delivered to the consumers before this returns, rather than in the next tick.
   */
  requeue(entries: QueueEntry[], deliverNow = false): void {
    if (this.deleted) return
    // Insert from the highest position down so that each insertion lands at or near the front
    entries.sort((a, b) => b.seq - a.seq)
    for (const entry of entries) {
      this.settled(entry)
      entry.redelivered = true
      this.ready.requeue(entry)
    }
    // as RabbitMQ's requeue_and_run: a length limit with drop-head applies to requeued messages too, before
    // any consumer gets them (reject-publish only ever refuses publishes)
    if (this.settings.overflow === 'drop-head') this.dropHeadsOverLimit()
    this.expireHeads()
    if (this.ready.peek()?.expiresAt) this.scheduleExpiry()
    if (this.consumers.size > 0) {
      if (deliverNow) this.drain()
      else this.scheduleDrain()
    }
  }

  purge(): number {
    const n = this.dropAllReady()
    this.releaseFlow()
    return n
  }

  /** Removes every ready message (the store, if any is left, forgets them); returns how many there were. */
  private dropAllReady(): number {
    const n = this.ready.clear((position, size) => this.forgetStored(position, size))
    // Nothing is left to wait for: the next paged-out head is read at once
    this.reads.cancelRetry()
    return n
  }

  /**
   * Marks the queue deleted, lets go of its store (the vhost removes it) and cancels its consumers; returns
   * the number of ready messages dropped. Acks of its deliveries after this touch no store.
   */
  delete(): number {
    this.deleted = true
    this.storeOfQueue = null
    this.expiryTimer?.stop()
    this.unusedTimer?.stop()
    const n = this.dropAllReady()
    for (const c of this.consumers.clear()) c.cancelledByQueue(this)
    this.releaseFlow()
    return n
  }

  /** Marks the queue used: restarts the x-expires countdown while it has no consumers. */
  touch(): void {
    const expires = this.settings.expires
    this.unusedTimer?.stop()
    if (expires === undefined || this.deleted || this.consumers.size > 0) return
    this.unusedTimer ??= new LongTimer(() =>
      this.guarded(() => {
        if (this.consumers.size === 0 && !this.deleted) this.hooks.remove(this)
      }),
    )
    this.unusedTimer.start(expires)
  }

  private die(entry: QueueEntry, reason: DeathReason): void {
    this.forget(entry)
    this.deadLetter(entry.message, reason)
  }

  /**
   * A message died: to the dead-letter exchange (the router counts it), or dropped and counted here (no
   * dead-letter exchange; without one, a paged-out message is not read back just to be dropped)
   */
  private deadLetter(message: Message | null, reason: DeathReason): void {
    if (this.settings.deadLetterExchange !== undefined && message) this.hooks.deadLetter(this, message, reason)
    else this.stats.countDeath(reason, false)
  }

  /** Removes expired messages from the head; RabbitMQ only expires messages that reach the head. */
  private expireHeads(): void {
    let head = this.ready.peek()
    if (!head || head.expiresAt === 0) return
    const now = Date.now()
    const load = this.settings.deadLetterExchange !== undefined
    while (head && head.expiresAt !== 0 && head.expiresAt <= now) {
      const entry = this.shiftReady(load)
      // An expired message whose dead letter cannot be read yet waits at the head: its dead letter is not lost
      if (entry) this.die(entry, 'expired')
      else if (this.readBlocked) return
      head = this.ready.peek()
    }
  }

  /** A timer for the head message's expiry, so messages expire even when nobody consumes. */
  private scheduleExpiry(): void {
    const head = this.ready.peek()
    if (!head || head.expiresAt === 0 || this.deleted) return
    // Expired already but unreadable: the read retry expires it (a timer now would spin)
    if (this.readBlocked && head.message === null && head.expiresAt <= Date.now()) return
    this.expiryTimer ??= new LongTimer(() =>
      this.guarded(() => {
        this.expireHeads()
        this.scheduleExpiry()
      }),
    )
    if (this.expiryTimer.pending && this.expiryTimer.due <= head.expiresAt) return
    this.expiryTimer.startAt(head.expiresAt)
  }

  scheduleDrain(): void {
    if (this.drainScheduled || this.deleted) return
    this.drainScheduled = true
    process.nextTick(() => this.guarded(() => this.drain()))
  }

  /**
   * Runs work the queue does on its own (not inside a client's method): an exception there must be logged,
   * not crash the broker, which would end every other client's work too.
   */
  private guarded(work: () => void): void {
    try {
      work()
    } catch (err) {
      this.drainScheduled = false
      this.hooks.failed(this, err)
    }
  }

  /** Delivers ready messages until none are left or no consumer can take one. */
  private drain(): void {
    this.drainScheduled = false
    this.expireHeads()
    while (this.ready.length > 0) {
      // The paged-out head cannot be read yet (or its page is being read back): its retry drains again
      const head = this.ready.peek()!
      if (head.message === null && (head === PAGE_PENDING || this.reads.blocked)) break
      const consumer = this.nextConsumerWithCredit()
      if (!consumer) break
      const entry = this.shiftReady() as LoadedEntry | undefined
      // Unreadable: blocked (the loop stops above) or damaged and dropped (the next one is tried)
      if (!entry) continue
      if (entry.expiresAt !== 0 && entry.expiresAt <= Date.now()) {
        this.die(entry, 'expired')
        continue
      }
      this.deliverTo(consumer, entry)
    }
    if (this.flowWaiters) this.releaseFlow()
    if (this.ready.peek()?.expiresAt) this.scheduleExpiry()
  }

  private deliverTo(consumer: Consumer, entry: LoadedEntry): void {
    if (consumer.noAck) this.forget(entry)
    else {
      this.unackedCount++
      this.unackedBytes += entry.size
    }
    this.stats.countDeliver(consumer.noAck, entry.redelivered)
    consumer.deliver(entry, this)
  }

  /** The highest-priority group with a consumer that can take a message; its consumers take turns. */
  private nextConsumerWithCredit(): Consumer | undefined {
    return this.consumers.nextWithCredit(this.settings.singleActiveConsumer)
  }
}
