// A queue: ready messages in publish order, the consumers that take them in turn, and the count of
// messages delivered but not yet settled. Delivery runs in a loop scheduled once per tick, however
// many messages arrive in it, and stops as soon as no consumer can take more.
import type { FieldTable } from '../../protocol/field-table.js'
import type { Message, QueueEntry } from '../message.js'
import type { Consumer } from './consumer.js'
import { Deque } from './deque.js'

export interface QueueOptions {
  durable: boolean
  exclusive: boolean
  autoDelete: boolean
  arguments: FieldTable
}

interface ConsumerGroup {
  readonly priority: number
  readonly consumers: Consumer[]
  next: number
}

export class Queue {
  readonly kind = 'queue' as const
  private readonly ready = new Deque<QueueEntry>()
  private readonly consumerList: Consumer[] = []
  /** Consumers by descending priority; round-robin within each group */
  private groups: ConsumerGroup[] = []
  private nextSeq = 0
  private drainScheduled = false
  private hadConsumer = false
  /** Messages delivered and not yet acked, rejected or requeued */
  unackedCount = 0
  deleted = false
  /** Called when an auto-delete queue loses its last consumer */
  onUnused: ((queue: Queue) => void) | undefined

  constructor(
    readonly name: string,
    readonly vhost: string,
    readonly options: QueueOptions,
    /** The connection an exclusive queue belongs to */
    readonly owner: object | null,
  ) {}

  get durable(): boolean {
    return this.options.durable
  }

  get messageCount(): number {
    return this.ready.length
  }

  get consumerCount(): number {
    return this.consumerList.length
  }

  get consumers(): readonly Consumer[] {
    return this.consumerList
  }

  get hasExclusiveConsumer(): boolean {
    return this.consumerList.length > 0 && this.consumerList[0]!.exclusive
  }

  enqueue(message: Message): void {
    this.ready.push({ message, seq: this.nextSeq++, redelivered: false })
    if (this.consumerList.length > 0) this.scheduleDrain()
  }

  /** Takes the next ready message for basic.get. */
  take(noAck: boolean): QueueEntry | undefined {
    const entry = this.ready.shift()
    if (entry && !noAck) this.unackedCount++
    return entry
  }

  addConsumer(consumer: Consumer): void {
    this.consumerList.push(consumer)
    let group = this.groups.find((g) => g.priority === consumer.priority)
    if (!group) {
      group = { priority: consumer.priority, consumers: [], next: 0 }
      this.groups.push(group)
      this.groups.sort((a, b) => b.priority - a.priority)
    }
    group.consumers.push(consumer)
    this.hadConsumer = true
    this.scheduleDrain()
  }

  removeConsumer(consumer: Consumer): void {
    const i = this.consumerList.indexOf(consumer)
    if (i < 0) return
    this.consumerList.splice(i, 1)
    const group = this.groups.find((g) => g.priority === consumer.priority)!
    const j = group.consumers.indexOf(consumer)
    group.consumers.splice(j, 1)
    if (group.next > j) group.next--
    if (group.consumers.length === 0) this.groups = this.groups.filter((g) => g !== group)
    if (this.consumerList.length === 0 && this.hadConsumer && this.options.autoDelete && !this.deleted) {
      this.onUnused?.(this)
    }
  }

  /** A delivered message was acked (or rejected without requeue). */
  settle(_entry: QueueEntry): void {
    if (this.unackedCount > 0) this.unackedCount--
  }

  /** Delivered messages go back, each to its original position, marked redelivered. */
  requeue(entries: QueueEntry[]): void {
    if (this.deleted) return
    // Insert from the highest position down so that each insertion lands at or near the front
    entries.sort((a, b) => b.seq - a.seq)
    for (const entry of entries) {
      if (this.unackedCount > 0) this.unackedCount--
      entry.redelivered = true
      this.ready.insertSorted(entry, (e) => e.seq)
    }
    if (this.consumerList.length > 0) this.scheduleDrain()
  }

  purge(): number {
    const n = this.ready.length
    this.ready.clear()
    return n
  }

  /** Marks the queue deleted and cancels its consumers; returns the number of ready messages dropped. */
  delete(): number {
    this.deleted = true
    const n = this.purge()
    const consumers = this.consumerList.splice(0)
    this.groups = []
    for (const c of consumers) c.cancelledByQueue(this)
    return n
  }

  scheduleDrain(): void {
    if (this.drainScheduled || this.deleted) return
    this.drainScheduled = true
    process.nextTick(() => this.drain())
  }

  /** Delivers ready messages until none are left or no consumer can take one. */
  private drain(): void {
    this.drainScheduled = false
    while (this.ready.length > 0) {
      const consumer = this.nextConsumerWithCredit()
      if (!consumer) return
      const entry = this.ready.shift()!
      if (!consumer.noAck) this.unackedCount++
      consumer.deliver(entry, this)
    }
  }

  /** The highest-priority group with a consumer that can take a message; its consumers take turns. */
  private nextConsumerWithCredit(): Consumer | undefined {
    for (const group of this.groups) {
      const list = group.consumers
      for (let tried = 0; tried < list.length; tried++) {
        if (group.next >= list.length) group.next = 0
        const consumer = list[group.next++]!
        if (consumer.canTake()) return consumer
      }
    }
    return undefined
  }
}
