// An exchange routes a message to destinations (queues, or other exchanges for exchange-to-exchange
// bindings). Each type keeps its own index of bindings for routing; the base keeps the list of bindings
// itself, for if-unused, auto-delete and listing.
import { encodeTable } from '../../protocol/field-table.js'
import type { FieldTable } from '../../protocol/field-value.js'
import type { Message } from '../message.js'
import type { Queue } from '../queue/queue.js'
import { ExchangeCounters } from '../stats.js'

export type Destination = Queue | Exchange

export interface Binding {
  readonly source: Exchange
  readonly destination: Destination
  readonly routingKey: string
  readonly arguments: FieldTable
}

/** RabbitMQ's name for the broker acting on its own (?INTERNAL_USER) */
export const INTERNAL_USER = 'rmq-internal'

export interface ExchangeOptions {
  durable: boolean
  autoDelete: boolean
  internal: boolean
  arguments: FieldTable
}

/** Identifies a binding: same destination, key and arguments is the same binding (as in RabbitMQ). */
export function bindingId(destination: Destination, routingKey: string, args: FieldTable): string {
  const kind = destination.kind === 'queue' ? 'q' : 'e'
  const argKey = Object.keys(args).length === 0 ? '' : encodeTable(args).toString('base64')
  return `${kind}\u0000${destination.name}\u0000${routingKey}\u0000${argKey}`
}

export abstract class Exchange {
  readonly kind = 'exchange' as const
  abstract readonly type: string
  readonly bindings = new Map<string, Binding>()
  /** Messages published to it and routed from it (stats.ts) */
  readonly stats = new ExchangeCounters()
  /**
   * The user who declared it (the management API's user_who_performed_action); RabbitMQ's internal user
   * for the exchanges a vhost comes with and for those declared by no user (definitions imported at boot)
   */
  declaredBy = INTERNAL_USER

  constructor(
    readonly name: string,
    readonly options: ExchangeOptions,
  ) {}

  get durable(): boolean {
    return this.options.durable
  }

  /** Throws a 406 for binding arguments the type refuses. */
  validateBindingArguments(_args: FieldTable): void {}

  /** Adds a binding; returns it, or undefined if it already existed. */
  bind(destination: Destination, routingKey: string, args: FieldTable): Binding | undefined {
    const id = bindingId(destination, routingKey, args)
    if (this.bindings.has(id)) return undefined
    const binding: Binding = { source: this, destination, routingKey, arguments: args }
    this.bindings.set(id, binding)
    this.addToIndex(binding)
    return binding
  }

  /** Removes a binding; returns it, or undefined if there was none. */
  unbind(destination: Destination, routingKey: string, args: FieldTable): Binding | undefined {
    const id = bindingId(destination, routingKey, args)
    const binding = this.bindings.get(id)
    if (!binding) return undefined
    this.bindings.delete(id)
    this.removeFromIndex(binding)
    return binding
  }

  /** Removes every binding to a destination (when it is deleted); returns how many. */
  unbindAll(destination: Destination): number {
    let n = 0
    for (const [id, binding] of this.bindings) {
      if (binding.destination !== destination) continue
      this.bindings.delete(id)
      this.removeFromIndex(binding)
      n++
    }
    return n
  }

  /** Appends the destinations a message with this routing key goes to; the caller removes duplicates. */
  abstract route(message: Message, routingKey: string, out: Destination[]): void
  protected abstract addToIndex(binding: Binding): void
  protected abstract removeFromIndex(binding: Binding): void
}

/** Counts bindings per destination, so a destination bound twice (different arguments) is routed once. */
export class DestinationSet {
  private readonly counts = new Map<Destination, number>()

  add(d: Destination): void {
    this.counts.set(d, (this.counts.get(d) ?? 0) + 1)
  }

  remove(d: Destination): void {
    const n = this.counts.get(d)
    if (n === undefined) return
    if (n <= 1) this.counts.delete(d)
    else this.counts.set(d, n - 1)
  }

  get size(): number {
    return this.counts.size
  }

  appendTo(out: Destination[]): void {
    for (const d of this.counts.keys()) out.push(d)
  }
}
