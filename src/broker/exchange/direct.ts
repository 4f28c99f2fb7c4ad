import type { Message } from '../message.js'
import { DestinationSet, Exchange, type Binding, type Destination } from './exchange.js'

/** Routes to the bindings whose key equals the routing key. */
export class DirectExchange extends Exchange {
  readonly type = 'direct'
  private readonly byKey = new Map<string, DestinationSet>()

  route(_message: Message, routingKey: string, out: Destination[]): void {
    this.byKey.get(routingKey)?.appendTo(out)
  }

  protected addToIndex(b: Binding): void {
    let set = this.byKey.get(b.routingKey)
    if (!set) this.byKey.set(b.routingKey, (set = new DestinationSet()))
    set.add(b.destination)
  }

  protected removeFromIndex(b: Binding): void {
    const set = this.byKey.get(b.routingKey)
    if (!set) return
    set.remove(b.destination)
    if (set.size === 0) this.byKey.delete(b.routingKey)
  }
}
