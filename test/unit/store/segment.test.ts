// The per-segment record index against a simple model: offsets, acks, double acks, trimming.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { RecordIndex, parseSegmentFileName, segmentFileName } from '../../../src/store/segment.js'

test('RecordIndex agrees with a Set model for any sequence of adds, acks and a trim (property)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 40 }),
      fc.array(fc.oneof(fc.constant('add' as const), fc.nat(60), fc.constant('trim' as const)), { maxLength: 300 }),
      (capacity, operations) => {
        const index = new RecordIndex(capacity)
        const offsets: number[] = []
        const acked = new Set<number>()
        for (const operation of operations) {
          if (operation === 'add') {
            const offset = offsets.length * 10 + 3
            assert.equal(index.add(offset), offsets.length)
            offsets.push(offset)
          } else if (operation === 'trim') {
            index.trim()
          } else {
            const position = operation % (offsets.length + 1)
            const offset = position * 10 + 3
            const found = index.indexOf(offset)
            assert.equal(found, position < offsets.length ? position : -1)
            if (found >= 0) {
              assert.equal(index.markAcked(found), !acked.has(found))
              acked.add(found)
            }
            assert.equal(index.indexOf(offset + 1), -1)
          }
          assert.equal(index.count, offsets.length)
          assert.equal(index.ackedCount, acked.size)
          assert.equal(index.liveCount, offsets.length - acked.size)
          assert.equal(index.fullyAcked, acked.size === offsets.length)
        }
        for (let i = 0; i < offsets.length; i++) {
          assert.equal(index.offsetAt(i), offsets[i])
          assert.equal(index.isAcked(i), acked.has(i))
        }
        index.markAllAcked()
        assert.ok(index.fullyAcked)
      },
    ),
  )
})

test('segment file names sort by id and parse back; other names are refused', () => {
  assert.equal(segmentFileName('msgs.', 1), 'msgs.0000000001')
  assert.equal(parseSegmentFileName('msgs.0000000001', 'msgs.'), 1)
  assert.equal(parseSegmentFileName(segmentFileName('acks.', 2 ** 21 + 9), 'acks.'), 2 ** 21 + 9)
  for (const name of ['msgs.1', 'msgs.0000000000', 'msgs.00000000001', 'acks.0000000001', 'msgs.000000000x']) {
    assert.equal(parseSegmentFileName(name, 'msgs.'), null, name)
  }
})
