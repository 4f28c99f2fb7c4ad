// The topic trie against RabbitMQ's semantics: words split on '.', '*' is exactly one word, '#' is zero
// or more, empty words count ('a..b' has three), an empty routing key has no words at all. Checked by
// hand on the edge cases and, property-based, against a simple regex matcher; unbinding must prune the
// trie back to nothing.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { Destination } from '../../../src/broker/exchange/exchange.js'
import { TopicTrie, splitWords } from '../../../src/broker/exchange/topic-trie.js'
import { TopicExchange } from '../../../src/broker/exchange/topic.js'
import { Message } from '../../../src/broker/message.js'

/** A stand-in queue: the trie only keeps destinations, it never looks inside them. */
function dest(name: string): Destination {
  return { kind: 'queue', name } as unknown as Destination
}

/** Whether bind/unbind changed anything (they return the binding, or undefined when nothing changed). */
function changed(result: unknown): boolean {
  return result !== undefined && result !== false
}

function names(out: Destination[]): string[] {
  return [...new Set(out.map((d) => d.name))].sort()
}

function matchNames(trie: TopicTrie, routingKey: string): string[] {
  const out: Destination[] = []
  trie.match(routingKey, out)
  return names(out)
}

/** Does a binding key match a routing key? As a regular expression over the routing key's words. */
function referenceMatch(bindingKey: string, routingKey: string): boolean {
  // Each word of the routing key is written as "." + word, so zero words is "" and empty words survive:
  // "" → "", "a" → ".a", "a..b" → ".a..b", "." → "..". Words never contain '.', so [^.]* is one word.
  const words = routingKey === '' ? [] : routingKey.split('.')
  const subject = words.map((w) => '.' + w).join('')
  const pattern = (bindingKey === '' ? [] : bindingKey.split('.'))
    .map((w) =>
      w === '#' ? '(?:\\.[^.]*)*' : w === '*' ? '\\.[^.]*' : '\\.' + w.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'),
    )
    .join('')
  return new RegExp(`^${pattern}$`, 's').test(subject)
}

/** Keys made of a few words, so that random keys and bindings actually meet. */
const word = fc.constantFrom('a', 'b', 'c', '', 'ab', 'é')
const routingKey = fc
  .array(fc.oneof({ weight: 6, arbitrary: word }, { weight: 1, arbitrary: fc.constantFrom('*', '#') }), {
    maxLength: 6,
  })
  .map((ws) => ws.join('.'))
const bindingKey = fc
  .array(fc.oneof({ weight: 3, arbitrary: word }, { weight: 2, arbitrary: fc.constantFrom('*', '#') }), {
    maxLength: 6,
  })
  .map((ws) => ws.join('.'))

/** Counts the trie's nodes (through its private structure) to check pruning. */
function nodeCount(trie: TopicTrie): number {
  interface Node {
    children: Map<string, Node>
    star: Node | undefined
    hash: Node | undefined
  }
  const count = (n: Node | undefined): number =>
    n === undefined ? 0 : 1 + count(n.star) + count(n.hash) + [...n.children.values()].reduce((s, c) => s + count(c), 0)
  return count((trie as unknown as { root: Node }).root)
}

describe('splitWords', () => {
  test('splits on dots, keeps empty words, and gives no words for the empty key', () => {
    assert.deepStrictEqual(splitWords(''), [])
    assert.deepStrictEqual(splitWords('a'), ['a'])
    assert.deepStrictEqual(splitWords('a.b'), ['a', 'b'])
    assert.deepStrictEqual(splitWords('a..b'), ['a', '', 'b'])
    assert.deepStrictEqual(splitWords('.'), ['', ''])
    assert.deepStrictEqual(splitWords('a.'), ['a', ''])
  })
})

describe('topic matching, RabbitMQ semantics', () => {
  // [binding key, routing key, matches]
  const cases: [string, string, boolean][] = [
    ['a.b', 'a.b', true],
    ['a.b', 'a.b.c', false],
    ['a.b', 'a', false],
    ['*', 'a', true],
    ['*', '', false], // the empty key has no word for * to match
    ['*', 'a.b', false],
    ['*', '.', false], // two empty words
    ['*.*', '.', true],
    ['a.*', 'a.', true], // an empty word is a word
    ['a.*', 'a', false],
    ['a.*.b', 'a..b', true],
    ['a..b', 'a..b', true],
    ['a..b', 'a.b', false],
    ['#', '', true],
    ['#', 'a', true],
    ['#', 'a.b.c', true],
    ['#', '.', true],
    ['', '', true],
    ['', 'a', false],
    ['', '.', false],
    ['a', '', false],
    ['#.#', '', true],
    ['#.#', 'a.b', true],
    ['a.#', 'a', true], // # matches zero words
    ['a.#', 'a.b.c', true],
    ['a.#', 'b.a', false],
    ['#.a', 'a', true],
    ['#.a', 'x.y.a', true],
    ['#.a', 'a.x', false],
    ['a.#.b', 'a.b', true],
    ['a.#.b', 'a.x.y.b', true],
    ['a.#.b', 'a.x.y', false],
    ['a.#.b', 'a.b.b', true],
    ['#.*', '', false],
    ['#.*', 'a', true],
    ['*.#', 'a.b.c', true],
    ['*.#.*', 'a', false],
    ['*.#.*', 'a.b', true],
    ['#.b.#', 'a.b.c', true],
    ['#.b.#', 'b', true],
    ['#.b.#', 'a.c', false],
    ['a*', 'ab', false], // '*' inside a word is a literal
    ['a*', 'a*', true],
    ['a#', 'a#', true],
    ['a#', 'a.b', false],
    ['*', '*', true], // a literal '*' routing word is just a word
    ['#', '#', true],
    ['a.#', 'a.#', true],
    ['stock.*.nyse', 'stock.usd.nyse', true],
    ['stock.*.nyse', 'stock.nyse', false],
    ['é.*', 'é.ü', true],
  ]
  for (const [binding, key, expected] of cases) {
    test(`'${binding}' ${expected ? 'matches' : 'does not match'} '${key}'`, () => {
      assert.equal(referenceMatch(binding, key), expected, 'the reference matcher agrees')
      const trie = new TopicTrie()
      trie.add(binding, dest('q'))
      assert.deepStrictEqual(matchNames(trie, key), expected ? ['q'] : [])
    })
  }

  test('the trie agrees with the reference matcher on random bindings and keys', () => {
    fc.assert(
      fc.property(
        fc.array(bindingKey, { maxLength: 12 }),
        fc.array(routingKey, { minLength: 1, maxLength: 10 }),
        (bindings, keys) => {
          const trie = new TopicTrie()
          bindings.forEach((b, i) => trie.add(b, dest(`q${i}`)))
          for (const key of keys) {
            const expected = bindings
              .map((b, i) => [b, `q${i}`] as const)
              .filter(([b]) => referenceMatch(b, key))
              .map(([, n]) => n)
              .sort()
            assert.deepStrictEqual(matchNames(trie, key), expected, `routing key '${key}'`)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })

  test('binding and unbinding at random: matches follow, and the trie prunes back to its root', () => {
    // A destination may be bound with the same key more than once (different arguments): it stays
    // matched until its last binding with that key is removed.
    const op = fc.record({
      add: fc.boolean(),
      key: bindingKey,
      dest: fc.constantFrom('q1', 'q2', 'q3'),
    })
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 40 }),
        fc.array(routingKey, { minLength: 1, maxLength: 6 }),
        (ops, keys) => {
          const trie = new TopicTrie()
          const model = new Map<string, number>() // "key\0dest" → count
          const dests = new Map(['q1', 'q2', 'q3'].map((n) => [n, dest(n)]))
          for (const o of ops) {
            const id = `${o.key}\u0000${o.dest}`
            const n = model.get(id) ?? 0
            if (o.add) {
              trie.add(o.key, dests.get(o.dest)!)
              model.set(id, n + 1)
            } else if (n > 0) {
              trie.remove(o.key, dests.get(o.dest)!)
              if (n === 1) model.delete(id)
              else model.set(id, n - 1)
            } else {
              trie.remove(o.key, dests.get(o.dest)!) // removing what is not there changes nothing
            }
            for (const key of keys) {
              const expected = [
                ...new Set(
                  [...model.keys()]
                    .map((k) => k.split('\u0000') as [string, string])
                    .filter(([b]) => referenceMatch(b, key))
                    .map(([, d]) => d),
                ),
              ].sort()
              assert.deepStrictEqual(matchNames(trie, key), expected, `routing key '${key}'`)
            }
          }
          // Remove everything left: nothing may remain but the root
          for (const [id, n] of model) {
            const [key, d] = id.split('\u0000') as [string, string]
            for (let i = 0; i < n; i++) trie.remove(key, dests.get(d)!)
          }
          assert.equal(nodeCount(trie), 1, 'only the root is left')
        },
      ),
      { numRuns: 300 },
    )
  })

  test('unbinding prunes only the branch that became empty', () => {
    const trie = new TopicTrie()
    const q1 = dest('q1')
    const q2 = dest('q2')
    trie.add('a.b.c', q1)
    trie.add('a.b', q2)
    trie.add('a.*.#', q1)
    const before = nodeCount(trie)
    trie.remove('a.b.c', q1)
    assert.equal(nodeCount(trie), before - 1, "only 'c' went: 'a.b' still has a destination")
    assert.deepStrictEqual(matchNames(trie, 'a.b'), ['q1', 'q2'])
    trie.remove('a.*.#', q1)
    assert.deepStrictEqual(matchNames(trie, 'a.b'), ['q2'])
    assert.deepStrictEqual(matchNames(trie, 'a.x.y'), [])
    trie.remove('a.b', q2)
    assert.equal(nodeCount(trie), 1)
    // Removing a key that was never bound, or a destination never bound with it, is harmless
    trie.add('x.y', q1)
    trie.remove('x.y.z', q1)
    trie.remove('x', q1)
    trie.remove('x.y', q2)
    assert.deepStrictEqual(matchNames(trie, 'x.y'), ['q1'])
  })

  test('the empty binding key and # are distinct bindings', () => {
    const trie = new TopicTrie()
    const empty = dest('empty')
    const hash = dest('hash')
    trie.add('', empty)
    trie.add('#', hash)
    assert.deepStrictEqual(matchNames(trie, ''), ['empty', 'hash'])
    assert.deepStrictEqual(matchNames(trie, 'a'), ['hash'])
    trie.remove('#', hash)
    assert.deepStrictEqual(matchNames(trie, ''), ['empty'])
    trie.remove('', empty)
    assert.equal(nodeCount(trie), 1)
  })

  test('BUG (DoS): a binding with many # does not make matching exponential', () => {
    // Each '#' node tries every split point of the remaining words with no memo, so '#.#.#.#.#.#.#.z'
    // against a 40-word key walks C(47, 7) ≈ 63 million paths. Routing runs on the broker's only
    // thread: one publish freezes every connection (a 10 '#' binding and a 128-word key would take
    // hours). RabbitMQ 3.10.8 has the same exponential walk but only stalls that one channel process.
    const trie = new TopicTrie()
    trie.add('#.#.#.#.#.#.#.z', dest('q'))
    const key = Array(40).fill('a').join('.')
    const started = performance.now()
    const out: Destination[] = []
    trie.match(key, out)
    const ms = performance.now() - started
    assert.deepStrictEqual(out, [])
    assert.ok(ms < 50, `matching took ${ms.toFixed(0)} ms`)
  })
})

describe('TopicExchange', () => {
  test('routes with the routing key it is given, through its bindings', () => {
    const x = new TopicExchange('t', { durable: false, autoDelete: false, internal: false, arguments: {} })
    const q1 = dest('q1')
    const q2 = dest('q2')
    assert.equal(changed(x.bind(q1, 'a.*', {})), true)
    assert.equal(changed(x.bind(q1, 'a.*', {})), false, 'the same binding twice is one binding')
    x.bind(q2, '#', {})
    const m = new Message('t', 'a.b', {}, Buffer.alloc(2), Buffer.alloc(0))
    const out: Destination[] = []
    x.route(m, 'a.b', out)
    assert.deepStrictEqual(names(out), ['q1', 'q2'])
    assert.equal(changed(x.unbind(q1, 'a.*', {})), true)
    assert.equal(changed(x.unbind(q1, 'a.*', {})), false)
    const out2: Destination[] = []
    x.route(m, 'a.b', out2)
    assert.deepStrictEqual(names(out2), ['q2'])
    assert.equal(x.unbindAll(q2), 1)
    const out3: Destination[] = []
    x.route(m, 'a.b', out3)
    assert.deepStrictEqual(out3, [])
  })
})
