// A trie of topic binding keys, one level per dot-separated word, with '*' (exactly one word) and '#'
// (zero or more words) as their own children. Matching walks only the branches a routing key can take,
// so its cost depends on the key's length and the wildcards on its way, not on the number of bindings.
import { DestinationSet, type Destination } from './exchange.js'

let nextNodeId = 0

class TrieNode {
  readonly id = nextNodeId++
  readonly children = new Map<string, TrieNode>()
  star: TrieNode | undefined
  hash: TrieNode | undefined
  readonly destinations = new DestinationSet()

  get isEmpty(): boolean {
    return this.children.size === 0 && !this.star && !this.hash && this.destinations.size === 0
  }
}

/** RabbitMQ splits keys on '.'; an empty key has no words at all. */
export function splitWords(key: string): string[] {
  return key === '' ? [] : key.split('.')
}

export class TopicTrie {
  private readonly root = new TrieNode()
  /** (node, word index) pairs already walked from a '#' in this match: without it, keys like
   * '#.#.#.#.z' make matching exponential in the routing key's length */
  private seen: Set<number> | undefined

  add(bindingKey: string, destination: Destination): void {
    let node = this.root
    for (const word of splitWords(bindingKey)) node = this.childFor(node, word)
    node.destinations.add(destination)
  }

  remove(bindingKey: string, destination: Destination): void {
    const words = splitWords(bindingKey)
    const path: [TrieNode, string][] = []
    let node: TrieNode | undefined = this.root
    for (const word of words) {
      const next: TrieNode | undefined = word === '*' ? node.star : word === '#' ? node.hash : node.children.get(word)
      if (!next) return
      path.push([node, word])
      node = next
    }
    node.destinations.remove(destination)
    // Prune nodes left empty, from the leaf up
    for (let i = path.length - 1; i >= 0 && node.isEmpty; i--) {
      const [parent, word]: [TrieNode, string] = path[i]!
      if (word === '*') parent.star = undefined
      else if (word === '#') parent.hash = undefined
      else parent.children.delete(word)
      node = parent
    }
  }

  match(routingKey: string, out: Destination[]): void {
    this.seen = undefined
    this.walk(this.root, splitWords(routingKey), 0, out)
  }

  private childFor(node: TrieNode, word: string): TrieNode {
    if (word === '*') return (node.star ??= new TrieNode())
    if (word === '#') return (node.hash ??= new TrieNode())
    let child = node.children.get(word)
    if (!child) node.children.set(word, (child = new TrieNode()))
    return child
  }

  private walk(node: TrieNode, words: string[], i: number, out: Destination[]): void {
    const hash = node.hash
    if (hash) {
      // '#' swallows zero or more words: try every split point, each (node, point) once
      const seen = (this.seen ??= new Set())
      for (let j = i; j <= words.length; j++) {
        const key = hash.id * 4096 + j
        if (seen.has(key)) continue
        seen.add(key)
        this.walk(hash, words, j, out)
      }
    }
    if (i === words.length) {
      node.destinations.appendTo(out)
      return
    }
    const child = node.children.get(words[i]!)
    if (child) this.walk(child, words, i + 1, out)
    if (node.star) this.walk(node.star, words, i + 1, out)
  }
}
