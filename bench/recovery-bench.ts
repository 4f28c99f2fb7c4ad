// How long a broker takes to come back with a large durable backlog. Starts the broker on an empty data
// directory, declares Q durable queues and publishes N persistent messages to each with publisher confirms,
// then stops the broker (SIGTERM or SIGKILL) and starts it again on the same data directory, timing
//
//   accept   from spawning the broker process until an AMQP connection opens
//   counted  until queue.declare (passive) reports every message in every queue
//
// once per entry of --restarts. The backlog is published once; restarts do not consume anything, so each
// one recovers the same messages. With --broker warren the broker's own log line "durable state recovered"
// gives the time spent reading the store.
//
//   node dist/bench/recovery-bench.js --broker warren [--port 5790] [--data-dir DIR]
//   node dist/bench/recovery-bench.js --broker rabbitmq [--port 5692]    (as root: runs a second node)
//     [--queues 100] [--per-queue 10000] [--size 100] [--restarts term,term,kill,kill] [--keep] [--json]
//
// RabbitMQ: a separate node (RABBITMQ_NODENAME=bench@localhost, dist port = port + 20000, data under
// /tmp/rmq-bench unless --data-dir) is started with `rabbitmq-server -detached` through Debian's wrapper,
// which runs it as the rabbitmq user, so this must run as root. The node is stopped and its directories
// removed at the end unless --keep. Any other RabbitMQ node on the machine is left alone.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, chownSync } from 'node:fs'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { connect, type ChannelModel } from 'amqplib'

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: 'warren' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    queues: { type: 'string', default: '100' },
    'per-queue': { type: 'string', default: '10000' },
    size: { type: 'string', default: '100' },
    restarts: { type: 'string', default: 'term,term,kill,kill' },
    'start-timeout': { type: 'string', default: '300' },
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
})

const brokerKind = values.broker
if (brokerKind !== 'warren' && brokerKind !== 'rabbitmq') throw new Error('--broker must be warren or rabbitmq')
const port = Number(values.port ?? (brokerKind === 'warren' ? 5790 : 5692))
const queueCount = Number(values.queues)
const perQueue = Number(values['per-queue'])
const bodySize = Number(values.size)
const restarts = values.restarts.split(',').filter((s) => s !== '')
for (const r of restarts) if (r !== 'term' && r !== 'kill') throw new Error(`--restarts: ${r} is not term or kill`)
const startTimeoutMs = Number(values['start-timeout']) * 1000
const url = `amqp://guest:guest@127.0.0.1:${port}/?heartbeat=0`
const queueName = (q: number): string => `recovery-bench-${String(q).padStart(3, '0')}`
const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A broker process we started and can stop. */
interface Broker {
  pid: number
  /** Resolves once the process has exited. */
  exited: Promise<void>
  /** Warren only: the "durable state recovered" log line, once seen. */
  recovered?: { ms: number; messages: number; queues: number }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function rssMB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : null
  } catch {
    return null
  }
}

// ---- Warren ----------------------------------------------------------------------------------------------

const here = dirname(fileURLToPath(import.meta.url))
const warrenMain = join(here, '..', 'src', 'main.js')
const dataDir =
  values['data-dir'] ?? (brokerKind === 'warren' ? mkdtempSync(join(tmpdir(), 'warren-recovery-')) : '/tmp/rmq-bench')

function startWarren(): Broker {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      warrenMain,
      ...['--port', String(port), '--data-dir', dataDir, '--log-level', 'info'],
      ...['--management-port', 'none', '--prometheus-port', 'none'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const broker: Broker = {
    pid: child.pid!,
    exited: new Promise((resolve) => child.once('exit', () => resolve())),
  }
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as {
        msg?: string
        ms?: number
        messages?: number
        queues?: number
        level?: string
      }
      if (entry.msg === 'durable state recovered') {
        broker.recovered = { ms: entry.ms ?? NaN, messages: entry.messages ?? NaN, queues: entry.queues ?? NaN }
      } else if (entry.level === 'warn' || entry.level === 'error' || entry.level === 'fatal') {
        log(`  warren: ${line}`)
      }
    } catch {
      log(`  warren: ${line}`)
    }
  })
  return broker
}

// ---- RabbitMQ (a second node) ----------------------------------------------------------------------------

const rabbitNode = 'bench@localhost'
const rabbitLogDir = `${dataDir}-log`
const rabbitEnv = {
  ...process.env,
  RABBITMQ_NODENAME: rabbitNode,
  RABBITMQ_NODE_PORT: String(port),
  RABBITMQ_DIST_PORT: String(port + 20000),
  RABBITMQ_MNESIA_BASE: dataDir,
  RABBITMQ_LOG_BASE: rabbitLogDir,
}
const rabbitPidFile = join(dataDir, `${rabbitNode}.pid`)

function prepareRabbitDirs(): void {
  const uid = Number(spawnSync('id', ['-u', 'rabbitmq'], { encoding: 'utf8' }).stdout.trim())
  const gid = Number(spawnSync('id', ['-g', 'rabbitmq'], { encoding: 'utf8' }).stdout.trim())
  for (const dir of [dataDir, rabbitLogDir]) {
    mkdirSync(dir, { recursive: true })
    chownSync(dir, uid, gid)
  }
}

async function startRabbit(): Promise<Broker> {
  rmSync(rabbitPidFile, { force: true })
  const result = spawnSync('rabbitmq-server', ['-detached'], { env: rabbitEnv, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`rabbitmq-server -detached failed: ${result.stderr}`)
  // The node writes its pid file early in its boot
  const deadline = performance.now() + startTimeoutMs
  while (!existsSync(rabbitPidFile) || readFileSync(rabbitPidFile, 'utf8').trim() === '') {
    if (performance.now() > deadline) throw new Error('no RabbitMQ pid file')
    await sleep(5)
  }
  const pid = Number(readFileSync(rabbitPidFile, 'utf8').trim())
  const exited = (async () => {
    while (processAlive(pid)) await sleep(10)
  })()
  return { pid, exited }
}

// ---- both ------------------------------------------------------------------------------------------------

function portOpen(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** The broker running now, stopped if the run fails. */
let current: Broker | null = null

async function startBroker(): Promise<{ broker: Broker; started: number }> {
  const started = performance.now()
  const broker = brokerKind === 'warren' ? startWarren() : await startRabbit()
  current = broker
  return { broker, started }
}

/** Polls until an AMQP connection opens; returns it. */
async function waitForAmqp(broker: Broker): Promise<ChannelModel> {
  const deadline = performance.now() + startTimeoutMs
  for (;;) {
    if (!processAlive(broker.pid)) throw new Error('the broker exited during startup')
    if (performance.now() > deadline) throw new Error('the broker did not accept connections in time')
    if (await portOpen()) {
      try {
        return await connect(url)
      } catch {
        // listening but not ready (or refused the handshake): try again
      }
    }
    await sleep(5)
  }
}

async function countMessages(model: ChannelModel): Promise<number> {
  const channel = await model.createChannel()
  let total = 0
  for (let q = 0; q < queueCount; q++) total += (await channel.checkQueue(queueName(q))).messageCount
  await channel.close()
  return total
}

async function stopBroker(broker: Broker, how: 'term' | 'kill'): Promise<number> {
  const started = performance.now()
  process.kill(broker.pid, how === 'term' ? 'SIGTERM' : 'SIGKILL')
  await broker.exited
  if (brokerKind === 'rabbitmq') {
    // Let epmd notice the node is gone before the next start under the same name
    for (let i = 0; i < 200; i++) {
      const names = spawnSync('epmd', ['-names'], { encoding: 'utf8' }).stdout ?? ''
      if (!names.includes(`name bench at port`)) break
      await sleep(25)
    }
  }
  return performance.now() - started
}

async function fill(model: ChannelModel): Promise<number> {
  const channels = 4
  const window = 1000
  const body = Buffer.alloc(bodySize, 'x')
  const setup = await model.createChannel()
  for (let q = 0; q < queueCount; q++) {
    await setup.deleteQueue(queueName(q))
    await setup.assertQueue(queueName(q), { durable: true })
  }
  await setup.close()
  const started = performance.now()
  await Promise.all(
    Array.from({ length: channels }, async (_, c) => {
      const channel = await model.createConfirmChannel()
      const mine: number[] = []
      for (let q = c; q < queueCount; q += channels) mine.push(q)
      const total = mine.length * perQueue
      let sent = 0
      let settled = 0
      let nacked = 0
      let wake: (() => void) | null = null
      const onConfirm = (error: unknown): void => {
        settled++
        if (error !== null && error !== undefined) nacked++
        if (wake !== null && sent - settled < window) {
          const w = wake
          wake = null
          w()
        }
      }
      while (sent < total) {
        if (sent - settled >= window) await new Promise<void>((resolve) => (wake = resolve))
        const q = mine[sent % mine.length]!
        const ok = channel.publish('', queueName(q), body, { persistent: true }, onConfirm)
        sent++
        if (!ok) await new Promise<void>((resolve) => channel.once('drain', () => resolve()))
      }
      while (settled < total) await new Promise<void>((resolve) => (wake = resolve))
      if (nacked > 0) throw new Error(`${nacked} publishes were nacked`)
      await channel.close()
    }),
  )
  return performance.now() - started
}

interface Restart {
  stop: 'term' | 'kill'
  stopMs: number
  acceptMs: number
  countedMs: number
  messages: number
  logRecoveredMs?: number
  rssAfterMB: number | null
}

async function main(): Promise<void> {
  const total = queueCount * perQueue
  if (brokerKind === 'rabbitmq') prepareRabbitDirs()
  log(`${brokerKind} on port ${port}, data in ${dataDir}`)
  log(`backlog: ${queueCount} durable queues x ${perQueue} persistent messages of ${bodySize} B = ${total}`)

  let { broker, started } = await startBroker()
  let model = await waitForAmqp(broker)
  const emptyStartMs = performance.now() - started
  log(`start on an empty data directory: accepting after ${emptyStartMs.toFixed(0)} ms`)
  const fillMs = await fill(model)
  log(
    `published and confirmed ${total} in ${(fillMs / 1000).toFixed(1)} s = ${Math.round(total / (fillMs / 1000))} msg/s`,
  )
  const filledCount = await countMessages(model)
  if (filledCount !== total) throw new Error(`after publishing the queues hold ${filledCount}, expected ${total}`)
  const rssFullMB = rssMB(broker.pid)
  await model.close()

  const results: Restart[] = []
  for (const how of restarts) {
    const stop = how as 'term' | 'kill'
    const stopMs = await stopBroker(broker, stop)
    ;({ broker, started } = await startBroker())
    model = await waitForAmqp(broker)
    const acceptMs = performance.now() - started
    const messages = await countMessages(model)
    const countedMs = performance.now() - started
    await model.close()
    const restart: Restart = {
      stop,
      stopMs,
      acceptMs,
      countedMs,
      messages,
      logRecoveredMs: broker.recovered?.ms,
      rssAfterMB: rssMB(broker.pid),
    }
    results.push(restart)
    log(
      `after SIG${stop.toUpperCase()} (stop took ${stopMs.toFixed(0)} ms): accepting after ${acceptMs.toFixed(0)} ms, ` +
        `all ${messages} counted after ${countedMs.toFixed(0)} ms` +
        (restart.logRecoveredMs !== undefined ? `, store recovery (log) ${restart.logRecoveredMs} ms` : '') +
        (restart.rssAfterMB !== null ? `, RSS ${restart.rssAfterMB.toFixed(0)} MB` : '') +
        (messages !== total ? `  MISSING ${total - messages}` : ''),
    )
  }

  // Clean up: delete the queues, stop the broker, remove the data
  model = await connect(url)
  const channel = await model.createChannel()
  for (let q = 0; q < queueCount; q++) await channel.deleteQueue(queueName(q))
  await model.close()
  await stopBroker(broker, 'term')
  if (!values.keep) {
    rmSync(dataDir, { recursive: true, force: true })
    if (brokerKind === 'rabbitmq') rmSync(rabbitLogDir, { recursive: true, force: true })
  }

  const summary = {
    broker: brokerKind,
    queues: queueCount,
    perQueue,
    bodySize,
    emptyStartMs,
    fillSeconds: fillMs / 1000,
    fillRate: total / (fillMs / 1000),
    rssFullMB,
    restarts: results,
  }
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`)
  const lost = results.some((r) => r.messages !== total)
  process.exitCode = lost ? 1 : 0
}

main().catch(async (error: unknown) => {
  log(`recovery-bench: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
  if (current !== null && processAlive(current.pid)) {
    log(`stopping the broker (pid ${current.pid}); data left in ${dataDir}`)
    await stopBroker(current, 'term')
  }
})
