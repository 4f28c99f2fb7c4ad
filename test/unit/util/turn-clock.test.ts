import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { turnNow } from '../../../src/util/turn-clock.js'

test('turnNow reads the clock once per event-loop turn', async () => {
  await nextTurn()
  const first = turnNow()
  assert.ok(Math.abs(first - Date.now()) < 50, 'it is the current time')
  const until = Date.now() + 5
  while (Date.now() < until) {
    // time passes within the turn
  }
  assert.equal(turnNow(), first, 'the same turn shares one time')
  await nextTurn()
  await nextTurn()
  assert.ok(turnNow() >= first + 5, 'a later turn reads the clock again')
})
