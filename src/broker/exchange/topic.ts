import type { Message } from '../message.js'
import { Exchange, type Binding, type Destination } from './exchange.js'
import { TopicTrie } from './topic-trie.js'

/** Routes by dot-separated words with '*' and '#' wildcards in binding keys. */
export class TopicExchange extends Exchange {
  readonly type = 'topic'
  private readonly trie = new TopicTrie()

  route(_message: Message, routingKey: string, out: Destination[]): void {
    this.trie.match(routingKey, out)
  }

  protected addToIndex(b: Binding): void {
    this.trie.add(b.routingKey, b.destination)
  }

  protected removeFromIndex(b: Binding): void {
    this.trie.remove(b.routingKey, b.destination)
  }
}
