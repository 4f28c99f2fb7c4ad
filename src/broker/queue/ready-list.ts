// The messages of a queue that wait for a consumer. A plain queue keeps one FIFO; a priority queue
// (x-max-priority) keeps one FIFO per priority level and serves the highest level first.
import type { QueueEntry } from '../message.js'
import { Deque } from './deque.js'

export interface ReadyList {
  readonly length: number
  push(entry: QueueEntry): void
  shift(): QueueEntry | undefined
  peek(): QueueEntry | undefined
  /** Puts a requeued entry back at its original position (by seq). */
  requeue(entry: QueueEntry): void
  /** Removes and returns everything. */
  takeAll(): QueueEntry[]
  entries(): IterableIterator<QueueEntry>
}

const bySeq = (e: QueueEntry): number => e.seq

export class FifoReadyList implements ReadyList {
  private readonly items = new Deque<QueueEntry>()

  get length(): number {
    return this.items.length
  }
  push(entry: QueueEntry): void {
    this.items.push(entry)
  }
  shift(): QueueEntry | undefined {
    return this.items.shift()
  }
  peek(): QueueEntry | undefined {
    return this.items.peek()
  }
  requeue(entry: QueueEntry): void {
    this.items.insertSorted(entry, bySeq)
  }
  takeAll(): QueueEntry[] {
    const all = [...this.items]
    this.items.clear()
    return all
  }
  entries(): IterableIterator<QueueEntry> {
    return this.items[Symbol.iterator]()
  }
}

export class PriorityReadyList implements ReadyList {
  private readonly levels: Deque<QueueEntry>[]
  private count = 0

  constructor(private readonly maxPriority: number) {
    this.levels = Array.from({ length: maxPriority + 1 }, () => new Deque<QueueEntry>())
  }

  /** Messages above the maximum count as the maximum; no priority counts as 0. */
  private levelOf(entry: QueueEntry): Deque<QueueEntry> {
    // Priority queues never page messages out, so the message is always there
    const p = entry.message?.properties.priority ?? 0
    return this.levels[Math.min(p, this.maxPriority)]!
  }

  get length(): number {
    return this.count
  }
  push(entry: QueueEntry): void {
    this.levelOf(entry).push(entry)
    this.count++
  }
  shift(): QueueEntry | undefined {
    for (let p = this.maxPriority; p >= 0; p--) {
      const entry = this.levels[p]!.shift()
      if (entry) {
        this.count--
        return entry
      }
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
  requeue(entry: QueueEntry): void {
    this.levelOf(entry).insertSorted(entry, bySeq)
    this.count++
  }
  takeAll(): QueueEntry[] {
    const all: QueueEntry[] = []
    for (let p = this.maxPriority; p >= 0; p--) {
      all.push(...this.levels[p]!)
      this.levels[p]!.clear()
    }
    this.count = 0
    return all
  }
  *entries(): IterableIterator<QueueEntry> {
    for (let p = this.maxPriority; p >= 0; p--) yield* this.levels[p]!
  }
}
