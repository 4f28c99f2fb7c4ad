// What survives a restart (SIGTERM, then start again on the same data directory), seen from pika 1.x: the
// Python program pika_restart.py declares durable and transient exchanges, queues and bindings, publishes
// persistent and transient messages with confirms and takes some without acking; the broker process is
// stopped and started again, and the program reports what is there. The assertions live here.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import { startBrokerProcess, stopAllBrokerProcesses, type BrokerExit } from '../../helpers/broker-process.js'
import { PYTHON, runPython } from '../../helpers/python.js'
import { spawnProcess, type ExitResult } from '../../helpers/spawn-wait.js'

// Observations are free-form JSON written by the Python program.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obs = Record<string, any>

const DX = 'pk.durable.topic'
const FX = 'pk.durable.fanout'
const TX = 'pk.transient.direct'
const DQ = 'pk.durable.q'
const DQ2 = 'pk.durable.q2'
const TQ = 'pk.transient.q'

function findScript(): string {
  // works from test/integration/durability (sources) and dist/test/integration/durability (compiled)
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'test', 'integration', 'durability', 'pika_restart.py')
    if (existsSync(candidate)) return candidate
    dir = dirname(dir)
  }
  throw new Error('cannot locate test/integration/durability/pika_restart.py')
}

function lines(stdout: string): Obs[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Obs)
}

function phase(observations: Obs[], name: string, context: string): Obs {
  const error = observations.find((o) => o['phase'] === 'error')
  if (error) assert.fail(`${context} raised: ${error['error']}\n${error['traceback'] ?? ''}`)
  const obs = observations.find((o) => o['phase'] === name)
  assert.ok(obs, `${context} printed no "${name}" line:\n${JSON.stringify(observations)}`)
  return obs
}

describe(
  'pika: durable state across a broker restart',
  { skip: process.env['WARREN_TEST_URL'] ? 'stops and restarts a broker process' : false },
  () => {
    let ready: Obs
    let closed: Obs
    let setupExit: ExitResult
    let brokerExit: BrokerExit
    let verified: Obs

    before(async () => {
      const script = findScript()
      const env = { PYTHONDONTWRITEBYTECODE: '1' }
      let broker = await startBrokerProcess()
      const setup = spawnProcess(PYTHON, [script, 'setup', broker.url], { env })
      try {
        await setup.waitForLine('"phase": "', 30_000)
        ready = phase(lines(setup.stdout()), 'ready', 'pika_restart.py setup')
        brokerExit = await broker.stop()
        setupExit = await setup.exited(15_000)
        closed = phase(lines(setupExit.stdout), 'closed', 'pika_restart.py setup')
      } finally {
        setup.kill()
      }
      broker = await broker.restart()
      const res = await runPython(script, ['verify', broker.url], { env, timeoutMs: 30_000 })
      verified = phase(lines(res.stdout), 'verified', `pika_restart.py verify (stderr: ${res.stderr})`)
      assert.equal(res.code, 0, `pika_restart.py verify exited with ${res.code}\n${res.stderr}`)
      await broker.stop()
    })

    after(stopAllBrokerProcesses)

    it('publishes with confirms and takes some messages before the restart', () => {
      assert.deepEqual(ready['counts'], { [DQ]: 10, [DQ2]: 4, [TQ]: 10 })
      assert.deepEqual(ready['first_deliveries'], ['msg-o0', 'msg-o1', 'msg-o2'], 'prefetch 3')
      assert.deepEqual(ready['consumed'], ['msg-o0', 'msg-o1', 'msg-o2', 'msg-o3'], 'one more after acking o0')
      assert.deepEqual(ready['got'], ['msg-f0', 'msg-f1', 'msg-f2'])
      assert.equal(ready['tq_got'], 'msg-o0')
      // ready counts: DQ o4..o9, DQ2 f1 (requeued) and f3, TQ o1..o9
      assert.deepEqual(ready['counts_after'], { [DQ]: 6, [DQ2]: 2, [TQ]: 9 })
    })

    it('SIGTERM: pika gets connection.close 320 CONNECTION_FORCED and the broker exits 0', () => {
      assert.deepEqual(brokerExit, { code: 0, signal: null })
      assert.deepEqual(
        { exc: closed['exc'], code: closed['code'], text: closed['text'], open: closed['connection_open'] },
        {
          exc: 'ConnectionClosedByBroker',
          code: 320,
          text: "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
          open: false,
        },
      )
      assert.equal(setupExit.code, 0, `pika_restart.py setup exited with ${setupExit.code}\n${setupExit.stderr}`)
    })

    it('durable exchanges and queues come back; transient ones are gone', () => {
      assert.deepEqual(verified['exchanges'], {
        [DX]: { exists: true },
        [FX]: { exists: true },
        [TX]: {
          exists: false,
          exc: 'ChannelClosedByBroker',
          code: 404,
          text: `NOT_FOUND - no exchange '${TX}' in vhost '/'`,
        },
      })
      assert.deepEqual(verified['queues'][TQ], {
        exists: false,
        exc: 'ChannelClosedByBroker',
        code: 404,
        text: `NOT_FOUND - no queue '${TQ}' in vhost '/'`,
      })
      assert.deepEqual(verified['queues'][DQ], { exists: true, message_count: 6, consumer_count: 0 })
      assert.deepEqual(verified['queues'][DQ2], { exists: true, message_count: 2, consumer_count: 0 })
    })

    it('a durable queue keeps its arguments and durability', () => {
      assert.equal(verified['redeclare_same'], 'ok')
      assert.deepEqual(verified['redeclare_other_args'], {
        exc: 'ChannelClosedByBroker',
        code: 406,
        text:
          `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${DQ}' in vhost '/': ` +
          "received '5' but current is '1000'",
      })
      assert.deepEqual(verified['redeclare_transient'], {
        exc: 'ChannelClosedByBroker',
        code: 406,
        text:
          `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${DQ}' in vhost '/': ` +
          "received 'false' but current is 'true'",
      })
    })

    it('the persistent messages not acked, in order, intact, redelivered only if they had been delivered', () => {
      const summary = (list: Obs[]) =>
        list.map((m) => ({
          name: m['name'],
          redelivered: m['redelivered'],
          intact: m['body_intact'],
          mismatches: m['mismatches'],
        }))
      const ok = (name: string, redelivered: boolean) => ({ name, redelivered, intact: true, mismatches: [] })
      // DQ: o0 acked; o1, o4, o7 transient; o2 o3 delivered and held at shutdown; o5 o6 o8 o9 never delivered
      assert.deepEqual(summary(verified['messages'][DQ]), [
        ok('o2', true),
        ok('o3', true),
        ok('o5', false),
        ok('o6', false),
        ok('o8', false),
        ok('o9', false),
      ])
      // DQ2: f0 held (basic.get), f1 rejected with requeue, f2 acked, f3 transient
      assert.deepEqual(summary(verified['messages'][DQ2]), [ok('f0', true), ok('f1', true)])
      for (const m of [...verified['messages'][DQ], ...verified['messages'][DQ2]]) {
        assert.equal(m['delivery_mode'], 2)
        assert.equal(m['correlation_id'], `corr-${m['name']}`)
        assert.equal(m['headers_n'], Number(String(m['name']).slice(1)))
      }
      assert.deepEqual(
        verified['messages'][DQ].map((m: Obs) => [m['exchange'], m['routing_key']]),
        [
          [DX, 'order.2'],
          [DX, 'order.3'],
          [DX, 'order.5'],
          [DX, 'order.6'],
          [DX, 'order.8'],
          [DX, 'order.9'],
        ],
      )
      assert.deepEqual(
        verified['messages'][DQ2].map((m: Obs) => [m['exchange'], m['routing_key']]),
        [
          [DX, 'fan.0'],
          [DX, 'fan.1'],
        ],
      )
    })

    it('durable bindings route after the restart (queue and exchange-to-exchange); transient ones are gone', () => {
      assert.deepEqual(verified['routed'], {
        'order.new': 'confirmed',
        'fan.new': 'confirmed',
        'nothing.new': 'returned 1',
      })
      assert.deepEqual(verified['counts_after_routing'], { [DQ]: 1, [DQ2]: 1 })
      assert.deepEqual(verified['publish_to_transient_exchange'], {
        exc: 'ChannelClosedByBroker',
        code: 404,
        text: `NOT_FOUND - no exchange '${TX}' in vhost '/'`,
      })
    })
  },
)
