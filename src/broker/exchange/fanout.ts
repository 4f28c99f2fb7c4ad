import type { Message } from '../message.js'
import { DestinationSet, Exchange, type Binding, type Destination } from './exchange.js'

/** Routes to every binding, whatever the routing key. */
export class FanoutExchange extends Exchange {
  readonly type = 'fanout'
  private readonly all = new DestinationSet()

  route(_message: Message, _routingKey: string, out: Destination[]): void {
    this.all.appendTo(out)
  }

  protected addToIndex(b: Binding): void {
    this.all.add(b.destination)
  }

  protected removeFromIndex(b: Binding): void {
    this.all.remove(b.destination)
  }
}
