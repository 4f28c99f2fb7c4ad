import type { Message } from '../message.js'
import type { Queue } from '../queue/queue.js'
import { DirectExchange } from './direct.js'
import type { Destination } from './exchange.js'

/**
 * The nameless exchange: every queue is implicitly bound to it with its own name. It cannot be bound,
 * unbound or deleted (the vhost refuses that with 403), so it routes straight to the queue by name.
 */
export class DefaultExchange extends DirectExchange {
  constructor(private readonly findQueue: (name: string) => Queue | undefined) {
    super('', { durable: true, autoDelete: false, internal: false, arguments: {} })
  }

  override route(_message: Message, routingKey: string, out: Destination[]): void {
    const queue = this.findQueue(routingKey)
    if (queue) out.push(queue)
  }
}
