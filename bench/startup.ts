// Startup time (issue 9): from starting a broker to a client's first open AMQP connection (amqplib's connect,
// handshake included), for Warren embedded (startBroker in a running process, and in a fresh `node`), Warren's
// command line in a fresh process, and RabbitMQ (Debian's rabbitmq-server as a private node, as
// test/differential/rabbitmq.ts starts it). Medians of --runs (Warren) and --rabbitmq-runs runs.
//
//   node dist/bench/startup.js [--runs 20] [--rabbitmq-runs 3] [--nagle] [--json]
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import amqp from 'amqplib'
import { startBroker } from '../src/index.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    'rabbitmq-runs': { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
    nagle: { type: 'boolean', default: false },
  },
})
const runs = Number(values.runs)
// amqplib leaves Nagle's algorithm on by default: its handshake then waits ~40 ms for a delayed ACK (the
// client writes tune-ok and connection.open back to back). --nagle measures that default.
const socketOptions = { noDelay: !values.nagle }
const rabbitRuns = Number(values['rabbitmq-runs'])
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'
const library = pathToFileURL(join(import.meta.dirname, '..', 'src', 'index.js')).href
const cli = join(import.meta.dirname, '..', 'src', 'main.js')

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
const ms = (x: number) => Math.round(x * 10) / 10

interface Row {
  what: string
  runs: number
  /** milliseconds, median: start → listening (where the broker says so) */
  listening?: number
  /** milliseconds, median: start → first AMQP connection open */
  firstConnection: number
  min: number
  max: number
  /** where the time goes, when known */
  notes?: string
}

function row(what: string, listening: number[] | undefined, firstConnection: number[]): Row {
  return {
    what,
    runs: firstConnection.length,
    ...(listening ? { listening: ms(median(listening)) } : {}),
    firstConnection: ms(median(firstConnection)),
    min: ms(Math.min(...firstConnection)),
    max: ms(Math.max(...firstConnection)),
  }
}

/** startBroker in this process; the first run loads the modules, so it is reported apart. */
async function embeddedInProcess(): Promise<Row[]> {
  const listening: number[] = []
  const connected: number[] = []
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now()
    const broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
    const t1 = performance.now()
    const conn = await amqp.connect(broker.url, socketOptions)
    const t2 = performance.now()
    await conn.close()
    await broker.close()
    listening.push(t1 - t0)
    connected.push(t2 - t0)
  }
  return [
    row('startBroker(), first in the process', [listening[0]!], [connected[0]!]),
    row('startBroker(), in a running process', listening.slice(1), connected.slice(1)),
  ]
}

/** Spawns a process and resolves with the first stdout line matching `pattern` and the ms it took. */
function firstLine(command: string, args: string[], pattern: RegExp): Promise<{ line: string; child: ChildProcess }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n').find((l) => pattern.test(l))
      if (line !== undefined) resolve({ line, child })
    })
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}): ${out}`)))
  })
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()))

/** A fresh `node` that imports the library, starts a broker and connects to it (node's own boot included). */
async function embeddedFreshProcess(): Promise<Row> {
  const script = `
const t0 = performance.now()
const { startBroker } = await import(${JSON.stringify(library)})
const { default: amqp } = await import('amqplib')
const imported = performance.now()
const broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
const t1 = performance.now()
const conn = await amqp.connect(broker.url, ${JSON.stringify(socketOptions)})
console.log('READY ' + JSON.stringify({ boot: t0, imported, listening: t1, connected: performance.now() }))
await conn.close()
await broker.close()
`
  const listening: number[] = []
  const connected: number[] = []
  const boot: number[] = []
  const imports: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    const { line, child } = await firstLine(process.execPath, ['--input-type=module', '-e', script], /^READY /)
    const wall = performance.now() - start
    const times = JSON.parse(line.slice('READY '.length)) as {
      boot: number
      imported: number
      listening: number
      connected: number
    }
    boot.push(times.boot)
    imports.push(times.imported - times.boot)
    // From spawn: the child's clock starts with its process, a little after spawn() returned
    const offset = wall - times.connected
    listening.push(offset + times.listening)
    connected.push(wall)
    await exited(child)
  }
  return {
    ...row('fresh `node`: import, startBroker(), connect', listening, connected),
    notes: `node's own start ${ms(median(boot))} ms, importing warren and amqplib ${ms(median(imports))} ms`,
  }
}

/** The command line in a fresh process, until its listening line, then a client connects. */
async function commandLine(): Promise<Row> {
  const listening: number[] = []
  const connected: number[] = []
  for (let i = 0; i < runs; i++) {
    const dataDir = await mkdtemp(join(tmpdir(), 'warren-startup-'))
    const start = performance.now()
    const args = [
      cli,
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      '--prometheus-port',
      'none',
      '--management-port',
      'none',
    ]
    const { line, child } = await firstLine(process.execPath, args, /Warren is listening/)
    const t1 = performance.now()
    const { port } = JSON.parse(line) as { port: number }
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/`, socketOptions)
    connected.push(performance.now() - start)
    listening.push(t1 - start)
    await conn.close()
    child.kill('SIGTERM')
    await exited(child)
    await rm(dataDir, { recursive: true, force: true })
  }
  return row('`node dist/src/main.js --data-dir <empty dir>` (CLI)', listening, connected)
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** rabbitmq-server as a private node, fresh data directory; amqplib tries to connect every 20 ms. */
async function rabbitmq(): Promise<Row | undefined> {
  if (!existsSync(RABBITMQ_SERVER) || rabbitRuns === 0) return undefined
  const connected: number[] = []
  for (let i = 0; i < rabbitRuns; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'warren-startup-rabbitmq-'))
    const port = await freePort()
    await writeFile(join(dir, 'enabled_plugins'), '[].\n')
    const start = performance.now()
    const child = spawn(RABBITMQ_SERVER, [], {
      detached: true,
      stdio: 'ignore',
      env: {
        ...process.env,
        HOME: dir,
        RABBITMQ_NODENAME: `warren-startup-${process.pid}-${port}@localhost`,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(port),
        RABBITMQ_DIST_PORT: String(await freePort()),
        RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(dir, 'log'),
        RABBITMQ_PID_FILE: join(dir, 'pid'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      },
    })
    try {
      for (;;) {
        if (child.exitCode !== null) throw new Error(`rabbitmq-server exited (${child.exitCode})`)
        try {
          const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}/`, socketOptions)
          connected.push(performance.now() - start)
          await conn.close()
          break
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        if (performance.now() - start > 120_000) throw new Error('rabbitmq-server did not start in 120 s')
      }
    } finally {
      if (child.exitCode === null) {
        process.kill(-child.pid!, 'SIGTERM')
        await exited(child)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
  return row(`${RABBITMQ_SERVER} (private node, empty data directory)`, undefined, connected)
}

const rows: Row[] = [...(await embeddedInProcess()), await embeddedFreshProcess(), await commandLine()]
const rabbit = await rabbitmq()
if (rabbit) rows.push(rabbit)
if (values.json) console.log(JSON.stringify(rows, null, 2))
else {
  console.log(`amqplib noDelay: ${socketOptions.noDelay}`)
  console.log('| start | runs | listening, median | first AMQP connection open, median (min–max) | notes |')
  console.log('| --- | --- | --- | --- | --- |')
  for (const r of rows) {
    const listening = r.listening === undefined ? '' : `${r.listening} ms`
    const open = `${r.firstConnection} ms (${r.min}–${r.max})`
    console.log(`| ${r.what} | ${r.runs} | ${listening} | ${open} | ${r.notes ?? ''} |`)
  }
}
