// A ring-buffer double-ended queue: O(1) push/shift/unshift without Array#shift's copying.
export class Deque<T> {
  private items: (T | undefined)[]
  private head = 0
  private count = 0

  constructor(capacity = 16) {
    this.items = new Array<T | undefined>(capacity)
  }

  get length(): number {
    return this.count
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) % this.items.length] = item
    this.count++
  }

  unshift(item: T): void {
    if (this.count === this.items.length) this.grow()
    this.head = (this.head - 1 + this.items.length) % this.items.length
    this.items[this.head] = item
    this.count++
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.items.length
    this.count--
    return item
  }

  pop(): T | undefined {
    if (this.count === 0) return undefined
    const i = (this.head + this.count - 1) % this.items.length
    const item = this.items[i]
    this.items[i] = undefined
    this.count--
    return item
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined
    return this.items[(this.head + index) % this.items.length]
  }

  /**
   * Inserts keeping the deque sorted by key, searching from the front: requeued messages usually
   * belong at or near the head, so this is O(1) in the common case.
   */
  insertSorted(item: T, key: (item: T) => number): void {
    const k = key(item)
    if (this.count === 0 || k <= key(this.items[this.head] as T)) return this.unshift(item)
    if (k >= key(this.at(this.count - 1) as T)) return this.push(item)
    // Binary search for the first element with a larger key, then shift the tail by one
    let lo = 0
    let hi = this.count - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (key(this.at(mid) as T) <= k) lo = mid + 1
      else hi = mid
    }
    this.push(item)
    const len = this.items.length
    for (let i = this.count - 1; i > lo; i--) {
      this.items[(this.head + i) % len] = this.items[(this.head + i - 1) % len]
    }
    this.items[(this.head + lo) % len] = item
  }

  /** Removes every item for which drop returns true, keeping order; returns how many were removed. */
  removeWhere(drop: (item: T) => boolean): number {
    const kept: T[] = []
    let removed = 0
    for (let i = 0; i < this.count; i++) {
      const item = this.at(i) as T
      if (drop(item)) removed++
      else kept.push(item)
    }
    if (removed > 0) this.reset(kept)
    return removed
  }

  clear(): void {
    this.items = new Array<T | undefined>(16)
    this.head = 0
    this.count = 0
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.at(i) as T
  }

  private reset(items: T[]): void {
    this.items = new Array<T | undefined>(Math.max(16, items.length * 2))
    for (let i = 0; i < items.length; i++) this.items[i] = items[i]
    this.head = 0
    this.count = items.length
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2)
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length]
    this.items = next
    this.head = 0
  }
}
