// The resource alarms without sockets: the disk monitor's checks against an injected statfs, its adaptive
// interval, the memory monitor, and how the two combine into one "publishers are blocked" state.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { pino } from 'pino'
import { DiskAlarm, checkInterval, type StatFs } from '../../../src/broker/disk-alarm.js'
import { MemoryAlarm } from '../../../src/broker/memory-alarm.js'
import { ResourceAlarms } from '../../../src/broker/resource-alarms.js'

const MB = 1_000_000

/** A logger that keeps its messages, and alarms whose changes are recorded. */
function setup() {
  const messages: string[] = []
  const log = pino({ level: 'info' }, { write: (line: string) => messages.push(JSON.parse(line).msg) })
  const alarms = new ResourceAlarms(log)
  const changes: boolean[] = []
  alarms.subscribe({ alarmChanged: (active) => changes.push(active) })
  return { log, alarms, changes, messages }
}

/** A file system whose free space the test sets; counts how often it is asked. */
function fakeDisk(freeBytes: number) {
  const disk = { free: freeBytes, calls: 0, error: undefined as Error | undefined }
  const statfs: StatFs = async (path) => {
    disk.calls++
    assert.equal(path, '/data')
    if (disk.error) throw disk.error
    return { bavail: Math.floor(disk.free / 4096), bsize: 4096 }
  }
  return { disk, statfs }
}

test('the disk alarm is set below the limit and cleared at or above it, with RabbitMQ’s log lines', async () => {
  const { log, alarms, changes, messages } = setup()
  const { disk, statfs } = fakeDisk(10 * MB)
  const alarm = new DiskAlarm('/data', 5 * MB, alarms, log, statfs)

  await alarm.check()
  assert.equal(alarm.active, false)
  assert.equal(alarm.free, Math.floor((10 * MB) / 4096) * 4096, 'available blocks × block size')

  disk.free = 4096 * 1000
  await alarm.check()
  assert.equal(alarm.active, true)
  assert.equal(alarms.active, true)
  assert.equal(alarms.reason, 'low on disk')
  assert.ok(
    messages.includes('Free disk space is insufficient. Free bytes: 4096000. Limit: 5000000'),
    messages.join('\n'),
  )
  assert.ok(messages.includes('disk resource limit alarm set. Publishers will be blocked until this alarm clears'))

  await alarm.check() // no change, no new notification
  // Exactly the limit is enough, as in RabbitMQ (the alarm is free < limit)
  disk.free = 4096 * 1221
  await alarm.setLimit(4096 * 1221)
  assert.equal(alarm.active, false)
  assert.equal(alarms.active, false)
  assert.ok(
    messages.includes('Free disk space is sufficient. Free bytes: 5001216. Limit: 5001216'),
    messages.join('\n'),
  )
  assert.ok(messages.includes('disk resource limit alarm cleared'))
  assert.deepEqual(changes, [true, false])
})

test('a failing statfs keeps the alarm as it is, is logged once, and checks resume when it works again', async () => {
  const { log, alarms, changes, messages } = setup()
  const { disk, statfs } = fakeDisk(1 * MB)
  const alarm = new DiskAlarm('/data', 5 * MB, alarms, log, statfs)
  await alarm.check()
  assert.equal(alarm.active, true)

  disk.error = Object.assign(new Error('EIO: i/o error, statfs'), { code: 'EIO' })
  await alarm.check()
  await alarm.check()
  assert.equal(alarm.active, true, 'still set: nothing says the disk has room')
  assert.equal(alarm.free, undefined)
  assert.equal(messages.filter((m) => m === 'free disk space monitor cannot read free space').length, 1)

  disk.error = undefined
  disk.free = 50 * MB
  await alarm.check()
  assert.equal(alarm.active, false)
  assert.deepEqual(changes, [true, false])
})

test('checks come sooner as free space nears the limit (RabbitMQ’s interval), every max interval when alarmed', () => {
  assert.equal(checkInterval(2050 * MB, 50 * MB, false, 100, 10_000), 10_000, 'far from the limit: the longest')
  assert.equal(checkInterval(50 * MB + 125_000_000, 50 * MB, false, 100, 10_000), 1000, '125 MB of margin: 1 s')
  assert.equal(checkInterval(51 * MB, 50 * MB, false, 100, 10_000), 100, 'near the limit: the shortest')
  assert.equal(checkInterval(49 * MB, 50 * MB, true, 100, 10_000), 10_000)
})

test('the disk alarm checks by itself on a timer and stops checking when stopped', async () => {
  const { log, alarms, changes } = setup()
  const { disk, statfs } = fakeDisk(10 * MB)
  const alarm = new DiskAlarm('/data', 5 * MB, alarms, log, statfs)
  alarm.setCheckIntervals(5, 10)
  alarm.start()
  const deadline = Date.now() + 2000
  while (disk.calls < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  assert.ok(disk.calls >= 3, `checked repeatedly (${disk.calls} times)`)
  disk.free = 1 * MB
  while (!alarm.active && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
  assert.equal(alarm.active, true, 'the timer saw the disk fill up')
  alarm.stop()
  await new Promise((r) => setTimeout(r, 30))
  const calls = disk.calls
  await new Promise((r) => setTimeout(r, 60))
  assert.equal(disk.calls, calls, 'no checks after stop()')
  assert.deepEqual(changes, [true])
})

test('memory and disk together: one block, the reason names both, cleared only when both clear', async () => {
  const { log, alarms, changes, messages } = setup()
  let rss = 100
  const memory = new MemoryAlarm(1000, alarms, log, () => rss)
  const { disk, statfs } = fakeDisk(10 * MB)
  const diskAlarm = new DiskAlarm('/data', 5 * MB, alarms, log, statfs)

  rss = 2000
  memory.check()
  assert.equal(alarms.reason, 'low on memory')
  assert.ok(messages.includes('vm_memory_high_watermark set. Memory used:2000 allowed:1000'))
  disk.free = 1 * MB
  await diskAlarm.check()
  // RabbitMQ joins its set of alarms, which lists disk before memory
  assert.equal(alarms.reason, 'low on disk & memory')
  rss = 100
  memory.check()
  assert.ok(messages.includes('vm_memory_high_watermark clear. Memory used:100 allowed:1000'))
  assert.equal(alarms.active, true, 'the disk alarm still holds publishers')
  assert.equal(alarms.reason, 'low on disk')
  disk.free = 10 * MB
  await diskAlarm.check()
  assert.equal(alarms.active, false)
  assert.deepEqual(changes, [true, false], 'listeners hear of the first alarm set and the last cleared only')
})
