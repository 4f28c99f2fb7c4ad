// Deque against an array model: random sequences of push, unshift, shift, pop, insertSorted, removeWhere
// and clear, with the ring buffer wrapping around and growing.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { Deque } from '../../../src/broker/queue/deque.js'

interface Item {
  key: number
  id: number
}

type Op =
  | { op: 'push' | 'unshift' | 'insertSorted'; key: number }
  | { op: 'shift' | 'pop' | 'peek' | 'clear' }
  | { op: 'removeWhere'; mod: number }
  | { op: 'at'; index: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      op: fc.constantFrom('push' as const, 'unshift' as const, 'insertSorted' as const),
      key: fc.integer({ min: 0, max: 50 }),
    }),
  },
  { weight: 15, arbitrary: fc.record({ op: fc.constantFrom('shift' as const, 'pop' as const, 'peek' as const) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('removeWhere' as const), mod: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('at' as const), index: fc.integer({ min: -2, max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'clear' as const }) },
)

/** Where insertSorted puts an item in a sorted array: after every item with a smaller key, before every
 *  item with a larger one; among equal keys anywhere (the deque does not promise an order for ties). */
function sortedPositions(model: Item[], key: number): [number, number] {
  let lo = 0
  while (lo < model.length && model[lo]!.key < key) lo++
  let hi = lo
  while (hi < model.length && model[hi]!.key === key) hi++
  return [lo, hi]
}

function isSorted(items: Item[]): boolean {
  return items.every((x, i) => i === 0 || items[i - 1]!.key <= x.key)
}

describe('Deque', () => {
  test('behaves like an array under random push/unshift/shift/pop/at/removeWhere/clear', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 200 }), fc.integer({ min: 1, max: 8 }), (ops, capacity) => {
        const d = new Deque<Item>(capacity)
        const model: Item[] = []
        let id = 0
        for (const o of ops) {
          switch (o.op) {
            case 'push': {
              const item = { key: o.key, id: id++ }
              d.push(item)
              model.push(item)
              break
            }
            case 'unshift': {
              const item = { key: o.key, id: id++ }
              d.unshift(item)
              model.unshift(item)
              break
            }
            case 'insertSorted': {
              // Only meaningful on a sorted deque: keep the model sorted by inserting in order
              if (!isSorted(model)) {
                model.sort((a, b) => a.key - b.key)
                d.clear()
                for (const m of model) d.push(m)
              }
              const item = { key: o.key, id: id++ }
              d.insertSorted(item, (x) => x.key)
              const [lo, hi] = sortedPositions(model, o.key)
              const at = [...d].indexOf(item)
              assert.ok(at >= lo && at <= hi, `inserted at ${at}, expected within [${lo}, ${hi}]`)
              model.splice(at, 0, item)
              break
            }
            case 'shift':
              assert.equal(d.shift(), model.shift())
              break
            case 'pop':
              assert.equal(d.pop(), model.pop())
              break
            case 'peek':
              assert.equal(d.peek(), model[0])
              break
            case 'at':
              assert.equal(d.at(o.index), o.index >= 0 ? model[o.index] : undefined)
              break
            case 'removeWhere': {
              const drop = (x: Item) => x.id % o.mod === 0
              const expected = model.filter(drop).length
              assert.equal(d.removeWhere(drop), expected)
              const kept = model.filter((x) => !drop(x))
              model.length = 0
              model.push(...kept)
              break
            }
            case 'clear':
              d.clear()
              model.length = 0
              break
          }
          assert.equal(d.length, model.length)
          assert.deepStrictEqual([...d], model)
        }
      }),
      { numRuns: 500 },
    )
  })

  test('insertSorted keeps a deque sorted, from any starting point of the ring', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 100 }),
        (rotate, keys) => {
          const d = new Deque<number>(4)
          // Move the ring's head around first, so inserts meet a wrapped buffer
          for (let i = 0; i < rotate; i++) {
            d.push(-1)
            d.shift()
          }
          for (const k of keys) d.insertSorted(k, (x) => x)
          assert.deepStrictEqual(
            [...d],
            [...keys].sort((a, b) => a - b),
          )
        },
      ),
      { numRuns: 300 },
    )
  })

  test('requeue pattern: items shifted out come back to their original places', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.boolean(), { maxLength: 60 }), (n, requeue) => {
        const d = new Deque<number>()
        for (let i = 0; i < n; i++) d.push(i)
        const out: number[] = []
        for (let i = 0; i < n; i++) out.push(d.shift()!)
        const back = out.filter((_, i) => requeue[i] ?? false)
        // Requeue in any order (here reversed): each goes back where its key says
        for (const x of [...back].reverse()) d.insertSorted(x, (v) => v)
        assert.deepStrictEqual([...d], back)
        d.push(n)
        assert.deepStrictEqual([...d], [...back, n])
      }),
    )
  })

  test('empty deque edge cases', () => {
    const d = new Deque<string>()
    assert.equal(d.shift(), undefined)
    assert.equal(d.pop(), undefined)
    assert.equal(d.peek(), undefined)
    assert.equal(d.at(0), undefined)
    assert.equal(
      d.removeWhere(() => true),
      0,
    )
    assert.deepStrictEqual([...d], [])
    d.insertSorted('x', () => 1)
    assert.deepStrictEqual([...d], ['x'])
  })

  test('grows past its initial capacity while wrapped', () => {
    const d = new Deque<number>(2)
    d.push(1)
    d.unshift(0) // head wraps to the end of the buffer
    d.push(2) // grows while wrapped
    d.unshift(-1)
    d.push(3)
    assert.deepStrictEqual([...d], [-1, 0, 1, 2, 3])
  })
})
