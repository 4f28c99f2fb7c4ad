// The consumers of a queue and whose turn it is: consumers of a higher x-priority are offered messages
// first while they have credit; consumers of one priority take turns (round robin), as in RabbitMQ.

/** What the ring needs of a consumer. */
export interface RingMember {
  readonly priority: number
  /** True when it can take one more message now */
  canTake(): boolean
}

interface PriorityGroup<C> {
  readonly priority: number
  readonly consumers: C[]
  /** Index of the consumer whose turn is next */
  next: number
}

export class ConsumerRing<C extends RingMember> {
  /** In subscription order: the first is the active one of a single-active-consumer queue */
  private readonly members: C[] = []
  /** By descending priority */
  private groups: PriorityGroup<C>[] = []

  get size(): number {
    return this.members.length
  }

  /** The longest-subscribed consumer. */
  get first(): C | undefined {
    return this.members[0]
  }

  add(consumer: C): void {
    this.members.push(consumer)
    let group = this.groups.find((g) => g.priority === consumer.priority)
    if (!group) {
      group = { priority: consumer.priority, consumers: [], next: 0 }
      this.groups.push(group)
      this.groups.sort((a, b) => b.priority - a.priority)
    }
    // A new consumer takes its turn after all the others, as in RabbitMQ's round robin: it goes in just before
    // the one whose turn is next
    if (group.next >= group.consumers.length) group.next = 0
    group.consumers.splice(group.next, 0, consumer)
    group.next++
  }

  /** Returns false when it was not a member. */
  remove(consumer: C): boolean {
    const i = this.members.indexOf(consumer)
    if (i < 0) return false
    this.members.splice(i, 1)
    const group = this.groups.find((g) => g.priority === consumer.priority)!
    const j = group.consumers.indexOf(consumer)
    group.consumers.splice(j, 1)
    if (group.next > j) group.next--
    if (group.consumers.length === 0) this.groups = this.groups.filter((g) => g !== group)
    return true
  }

  /** Removes and returns every consumer. */
  clear(): C[] {
    this.groups = []
    return this.members.splice(0)
  }

  /**
   * The consumer to offer the next message to: the highest-priority group with one that can take it, its
   * consumers in turn; with a single active consumer only the first may take it.
   */
  nextWithCredit(singleActive: boolean): C | undefined {
    if (singleActive) {
      const active = this.members[0]
      return active?.canTake() ? active : undefined
    }
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
