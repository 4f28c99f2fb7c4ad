import assert from 'node:assert/strict'
import { afterEach, beforeEach, mock, test } from 'node:test'
import { LongTimer, MAX_TIMEOUT_MS } from '../../../src/util/long-timer.js'

const THIRTY_DAYS = 2_592_000_000

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }))
afterEach(() => mock.timers.reset())

test('a plain setTimeout beyond 2^31-1 ms fires after 1 ms (what the long timer exists for)', () => {
  let fired = 0
  const t = setTimeout(() => fired++, THIRTY_DAYS)
  mock.timers.tick(1)
  clearTimeout(t)
  assert.equal(fired, 1)
})

test('a 30-day timer waits in steps of at most 2^31-1 ms and fires at the right total time', () => {
  let fired = 0
  const timer = new LongTimer(() => fired++)
  timer.start(THIRTY_DAYS)
  assert.equal(timer.due, 1_000_000 + THIRTY_DAYS)
  mock.timers.tick(1)
  assert.equal(fired, 0, 'not after 1 ms')
  mock.timers.tick(MAX_TIMEOUT_MS - 1)
  assert.equal(fired, 0, 'not after the first step')
  assert.ok(timer.pending, 're-armed for the rest')
  mock.timers.tick(THIRTY_DAYS - MAX_TIMEOUT_MS - 1)
  assert.equal(fired, 0, 'not 1 ms early')
  mock.timers.tick(1)
  assert.equal(fired, 1, 'at 30 days')
  assert.equal(timer.pending, false)
  mock.timers.tick(THIRTY_DAYS)
  assert.equal(fired, 1, 'once')
})

test('a small step override re-arms as many times as it takes', () => {
  let fired = 0
  const timer = new LongTimer(() => fired++, 100)
  timer.start(1_050)
  for (let elapsed = 100; elapsed < 1_050; elapsed += 100) {
    mock.timers.tick(100)
    assert.equal(fired, 0, `not after ${elapsed} ms`)
  }
  mock.timers.tick(49)
  assert.equal(fired, 0, 'not after 1049 ms')
  mock.timers.tick(1)
  assert.equal(fired, 1, 'after 1050 ms')
})

test('start again re-arms from now; startAt takes a time; stop cancels', () => {
  let fired = 0
  const timer = new LongTimer(() => fired++, 1_000)
  timer.start(5_000)
  mock.timers.tick(4_000)
  timer.start(5_000)
  mock.timers.tick(4_999)
  assert.equal(fired, 0, 'restarted from now')
  mock.timers.tick(1)
  assert.equal(fired, 1)

  timer.startAt(Date.now() + 2_500)
  mock.timers.tick(2_500)
  assert.equal(fired, 2, 'at the given time')

  timer.start(10)
  timer.stop()
  mock.timers.tick(100)
  assert.equal(fired, 2, 'stopped')
  assert.equal(timer.pending, false)
})

test('a delay in the past or of zero fires on the next turn', () => {
  let fired = 0
  const timer = new LongTimer(() => fired++)
  timer.startAt(Date.now() - 1_000)
  assert.equal(fired, 0, 'never synchronously')
  mock.timers.tick(0)
  assert.equal(fired, 1)
})
