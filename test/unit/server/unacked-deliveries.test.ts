// The unacked deliveries of a channel (src/server/unacked-deliveries.ts), a ring of slots in tag order, against
// a Map in insertion order (what it replaced) under random adds, settles in and out of order (oldest first,
// by tag, everything up to a tag) and clears, through growth, wrap-around and compaction: the same
// deliveries are held, found and listed in the same order.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { LoadedEntry } from '../../../src/broker/message.js'
import type { Queue } from '../../../src/broker/queue/queue.js'
import { UnackedDeliveries } from '../../../src/server/unacked-deliveries.js'

type Op =
  { kind: 'add'; count: number } | { kind: 'settle'; pick: number } | { kind: 'upTo'; pick: number } | { kind: 'clear' }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('upTo' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
)

const queue = { name: 'q' } as unknown as Queue
const entryFor = (tag: number) => ({ seq: tag, size: tag % 7 }) as unknown as LoadedEntry

test('unacked deliveries hold, find and list what a Map in tag order would', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const ring = new UnackedDeliveries()
      const model = new Map<number, LoadedEntry>()
      let nextTag = 1
      for (const o of ops) {
        if (o.kind === 'add') {
          for (let k = 0; k < o.count; k++) {
            const tag = nextTag++
            const entry = entryFor(tag)
            ring.add(tag, queue, entry, null, tag * 10)
            model.set(tag, entry)
          }
        } else if (o.kind === 'settle' && model.size > 0) {
          const tag = [...model.keys()][o.pick % model.size]!
          const i = ring.find(tag)
          assert.ok(i >= 0, `tag ${tag} found`)
          assert.equal(ring.entryAt(i), model.get(tag))
          assert.equal(ring.deliveredAtOf(i), tag * 10)
          ring.remove(i)
          model.delete(tag)
          assert.equal(ring.find(tag), -1, `settled tag ${tag} no longer found`)
        } else if (o.kind === 'upTo' && model.size > 0) {
          const upTo = [...model.keys()][o.pick % model.size]!
          for (let i = ring.oldest(); i >= 0 && ring.tagAt(i) <= upTo; i = ring.oldest()) {
            assert.ok(model.delete(ring.tagAt(i)))
            ring.remove(i)
          }
        } else if (o.kind === 'clear') {
          ring.clear()
          model.clear()
        }
        assert.equal(ring.size, model.size)
        assert.deepEqual(
          ring.list().map(([tag, d]) => [tag, d.entry]),
          [...model],
        )
        const oldest = ring.oldest()
        assert.equal(oldest < 0 ? undefined : ring.tagAt(oldest), model.keys().next().value)
      }
      assert.equal(ring.find(nextTag), -1)
    }),
    { numRuns: 300 },
  )
})
