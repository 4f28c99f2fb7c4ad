// A smoke of the benchmark tools, not a benchmark: each runs for a moment and reports in its format, and
// the load generators' exactly-once checks hold. Timings are never asserted (they belong in
// docs/benchmarks.md, measured on a quiet machine with the commands given there).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { startBroker, type InProcessBroker } from '../helpers/broker.js'

const run = promisify(execFile)
const dist = join(import.meta.dirname, '..', '..', 'bench')
const TIMEOUT = { timeout: 180_000 }

describe('benchmark tools', () => {
  let broker: InProcessBroker

  before(async () => {
    broker = await startBroker({ inProcess: true })
  })
  after(async () => {
    await broker?.stop()
  })

  test('warren-bench runs a count, an RPC run and reports JSON', TIMEOUT, async () => {
    const { stdout } = await run(process.execPath, [
      join(dist, 'warren-bench.js'),
      ...['--url', broker.url, '--count', '2000', '--confirm', '50', '--json'],
    ])
    const result = JSON.parse(stdout)
    assert.equal(result.tool.node, process.version)
    assert.equal(result.incomplete, null)
    assert.deepEqual(
      [result.published.messages, result.published.confirmed, result.published.nacked, result.consumed.messages],
      [2000, 2000, 0, 2000],
    )
    assert.ok(result.latencyMillis.p99 > 0)
    const rpc = JSON.parse(
      (
        await run(process.execPath, [
          join(dist, 'warren-bench.js'),
          ...['--url', broker.url, '--rpc', '--count', '200', '--json'],
        ])
      ).stdout,
    )
    assert.equal(rpc.mode, 'rpc')
    assert.equal(rpc.incomplete, null)
    assert.deepEqual([rpc.requests.sent, rpc.requests.answered, rpc.requests.unanswered], [200, 200, 0])
    assert.deepEqual(rpc.wrongReplies, { unexpected: 0, mismatched: 0 })
  })

  test('compare-rabbitmq runs the shared C load generator on both brokers and reports', TIMEOUT, async () => {
    const { stdout } = await run(
      process.execPath,
      [
        join(dist, 'compare-rabbitmq.js'),
        ...['--scenarios', 'a,d,g1,i', '--rounds', '1', '--duration', '1'],
        ...['--backlog', '20000', '--ceiling-count', '100000'],
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    )
    const rows = new Map(
      stdout
        .split('\n')
        .filter((line) => /^\| [a-z]\d? /.test(line))
        .map((line) => {
          const cells = line.split('|').map((c) => c.trim())
          return [cells[1]!.split(' ')[0]!, cells] as const
        }),
    )
    assert.deepEqual([...rows.keys()], ['a', 'd', 'g1', 'i'], stdout)
    for (const [id, cells] of rows) {
      const [, , , rabbit, warren, ratio, , , once] = cells
      assert.match(rabbit!, /^[\d,.]+$/, `${id}: RabbitMQ's figure`)
      // i's 20,000-message backlog grows Warren's RSS by 3-4 MB (queues pack long backlogs), less than what a
      // garbage collection of the earlier scenarios' leftovers gives back: its figure and ratio may be negative
      const sign = id === 'i' ? '-?' : ''
      assert.match(warren!, new RegExp(`^${sign}[\\d,.]+$`), `${id}: Warren's figure`)
      assert.match(ratio!, new RegExp(`^${sign}\\d+\\.\\d\\d×$`), `${id}: the ratio`)
      assert.equal(once, 'yes', `${id}: exactly once`)
    }
    assert.match(stdout, /Loopback ceiling .* 16 B [\d,]+ msg\/s/)
    assert.match(stdout, /- a: Warren at [\d.]+% of the ceiling/)
    assert.match(
      stdout,
      /- g1: writer → reader \d+\.\d{3}, through a C relay thread \d+\.\d{3}, through noderelay\.js \d+\.\d{3}\./,
    )
  })
})
