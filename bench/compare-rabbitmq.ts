// Warren beside RabbitMQ with the team's C load generator, in one command: starts a private RabbitMQ node
// (test/differential/rabbitmq.ts) and a Warren (on the Node given), runs ../shared/bench/compare.sh over them
// (each scenario on one broker then the other, alternating, --rounds times), measures the loopback ceiling
// through a Node relay (tcpceil via noderelay.js, same Node) and, for g1/g2, the latency floor (bench/latency-floor.c:
// the same paced messages over loopback with no broker, through a C relay thread and through noderelay.js), and
// prints a Markdown report: medians, Warren ÷ RabbitMQ, each broker's CPU, exactly-once, and Warren's throughput
// as a share of the ceiling.
//
//   npm run build && node dist/bench/compare-rabbitmq.js [--node PATH] [--scenarios a,b,c,d,e,f,g1,g2,i]
//       [--rounds 2] [--duration 10] [--backlog 1000000] [--out report.md] [--bench-dir ../shared/bench]
//
// Needs gcc, librabbitmq-dev and jq (compare.sh), and Debian's rabbitmq-server.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { canConnect, freePort, startRabbitMq } from '../test/differential/rabbitmq.js'

const root = resolve(import.meta.dirname, '..', '..')
const { values } = parseArgs({
  options: {
    node: { type: 'string', default: process.execPath },
    scenarios: { type: 'string', default: 'a,b,c,d,e,f,g1,g2,i' },
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '10' },
    backlog: { type: 'string', default: '1000000' },
    'ceiling-count': { type: 'string', default: '3000000' },
    out: { type: 'string' },
    'bench-dir': { type: 'string', default: process.env['WARREN_SHARED_BENCH'] ?? join(root, '..', 'shared', 'bench') },
  },
})

/** One line of ampperf's JSON, with what compare.sh adds */
interface Result {
  broker_name: string
  scenario: string
  mode?: string
  consumers?: number
  rate?: number
  con_rate?: number
  lat_us?: { p99: number }
  rss_bytes_per_msg?: number
  rss_kb_per_conn?: number
  broker_cpu_pct?: number
  client_cpu_pct?: number
  exactly_once?: boolean
  opened?: number
  requested?: number
  error?: string
}

const SCENARIO_NAMES: Record<string, string> = {
  a: '1→1, 16 B, auto-ack',
  b: '1→1, 1 KB, auto-ack',
  c: 'manual ack, prefetch 100',
  d: 'persistent + confirms (fsync)',
  e: 'fanout to 10 queues',
  f: 'topic, 100 wildcard bindings',
  g1: 'p99 latency at 1k msg/s',
  g2: 'p99 latency at 10k msg/s',
  h: 'RSS per idle connection',
  i: 'RSS per queued 100 B message',
}

async function waitForPort(port: number, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode})`)
    const open = await canConnect(port)
    if (open) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${what} did not listen on ${port} in 30 s`)
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1]! + s[m]!) / 2
}

/** compare.sh's main figure of a run, and whether lower is better */
function figure(r: Result): { value: number | undefined; unit: string; lowerIsBetter: boolean } {
  if (r.mode === 'idle') return { value: r.rss_kb_per_conn, unit: 'kB RSS/conn', lowerIsBetter: true }
  if (r.consumers === 0) return { value: r.rss_bytes_per_msg, unit: 'B RSS/msg', lowerIsBetter: true }
  if ((r.rate ?? 0) > 0) return { value: r.lat_us && r.lat_us.p99 / 1000, unit: 'ms p99', lowerIsBetter: true }
  return { value: r.con_rate, unit: 'msg/s', lowerIsBetter: false }
}

const fmt = (v: number | undefined, digits = 0): string =>
  v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

/** Runs `probe` with noderelay.js (on the Node under test) forwarding VIA_IN to VIA_OUT, given in its env */
async function withNodeRelay<T>(bench: string, probe: (env: NodeJS.ProcessEnv) => T): Promise<T> {
  const [viaIn, viaOut] = [await freePort(), await freePort()]
  const env = { ...process.env, VIA_IN: String(viaIn), VIA_OUT: String(viaOut) }
  const relay = spawn(values.node, [join(bench, 'noderelay.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    await new Promise<void>((done, fail) => {
      relay.stderr!.once('data', () => done())
      relay.once('exit', (code) => fail(new Error(`noderelay exited (${code})`)))
    })
    return probe(env)
  } finally {
    relay.kill()
  }
}

/** Loopback ceiling: tcpceil's frames through noderelay.js on the same Node, 64 KiB writes */
function ceiling(bench: string, size: number, count: number): Promise<number> {
  return withNodeRelay(bench, (env) => {
    const out = run(join(bench, 'tcpceil'), ['via', String(size), String(count), '0'], { env })
    return (JSON.parse(out) as { msgs_per_s: number }).msgs_per_s
  })
}

/** p99 latency (ms) of latency-floor's paced messages over one path, at a rate, for seconds */
function latencyFloor(binary: string, bench: string, mode: string, rate: number, seconds: number): Promise<number> {
  const args = [mode, String(rate), String(seconds)]
  const p99 = (env?: NodeJS.ProcessEnv) =>
    (JSON.parse(run(binary, args, { env })) as { lat_us: { p99: number } }).lat_us.p99 / 1000
  return mode === 'via' ? withNodeRelay(bench, p99) : Promise.resolve(p99())
}

const FLOOR_PATHS = { direct: 'writer → reader', crelay: 'through a C relay thread', via: 'through noderelay.js' }
type FloorPath = keyof typeof FLOOR_PATHS

/** Median p99 of each path for g1 (1k msg/s) and g2 (10k msg/s), as many times as there are rounds */
async function latencyFloors(bench: string, work: string): Promise<Record<string, Record<FloorPath, number>>> {
  const binary = join(work, 'latency-floor')
  run('gcc', ['-O2', '-o', binary, join(root, 'bench', 'latency-floor.c'), '-lpthread'])
  const floors: Record<string, Record<FloorPath, number>> = {}
  for (const [id, rate] of [
    ['g1', 1000],
    ['g2', 10000],
  ] as const) {
    if (!values.scenarios.split(',').includes(id)) continue
    const p99s: Record<FloorPath, number[]> = { direct: [], crelay: [], via: [] }
    for (let round = 0; round < Number(values.rounds); round++)
      for (const mode of Object.keys(FLOOR_PATHS) as FloorPath[])
        p99s[mode].push(await latencyFloor(binary, bench, mode, rate, Number(values.duration)))
    floors[id] = { direct: median(p99s.direct)!, crelay: median(p99s.crelay)!, via: median(p99s.via)! }
  }
  return floors
}

async function main(): Promise<void> {
  const source = resolve(values['bench-dir'])
  if (!existsSync(join(source, 'compare.sh')))
    throw new Error(`no compare.sh in ${source}: pass --bench-dir or set WARREN_SHARED_BENCH`)
  // A writable copy: run.sh builds ampperf beside itself
  const work = mkdtempSync(join(tmpdir(), 'warren-compare-'))
  const bench = join(work, 'bench')
  cpSync(source, bench, { recursive: true, filter: (path) => !path.endsWith('.jsonl') })
  run('chmod', ['-R', 'u+w', bench])
  run('make', ['-s', '-C', bench, 'ampperf', 'tcpceil'])
  const nodeVersion = run(values.node, ['--version']).trim()
  const started = new Date()
  const loadBefore = loadavg()[0]!

  const rabbit = await startRabbitMq()
  let warren: ChildProcess | undefined
  try {
    const rabbitPid = JSON.parse(await rabbit.ctl('eval', 'os:getpid().')) as string
    const rabbitVersion = (await rabbit.ctl('eval', 'rabbit_misc:version().')).trim().replace(/"/g, '')
    const warrenPort = await freePort()
    warren = spawn(
      values.node,
      [
        join(root, 'dist', 'src', 'main.js'),
        ...['--port', String(warrenPort), '--data-dir', join(work, 'warren-data'), '--log-level', 'warn'],
        ...['--management-port', 'none', '--prometheus-port', 'none'],
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    )
    await waitForPort(warrenPort, warren, 'Warren')
    const jsonl = join(work, 'compare.jsonl')
    const env = {
      ...process.env,
      ROUNDS: values.rounds,
      DURATION: values.duration,
      BACKLOG_COUNT: values.backlog,
      OUT: jsonl,
    }
    const args = [values.scenarios, 'rabbitmq', String(rabbit.port), rabbitPid, 'warren', String(warrenPort)]
    const table = run('bash', [join(bench, 'compare.sh'), ...args, String(warren.pid)], { env })
    const results = readFileSync(jsonl, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Result)
    const wantsCeiling = values.scenarios.split(',').some((s) => s === 'a' || s === 'b')
    const ceilings = wantsCeiling
      ? {
          16: await ceiling(bench, 16, Number(values['ceiling-count'])),
          1024: await ceiling(bench, 1024, Number(values['ceiling-count']) / 4),
        }
      : undefined
    const floors = await latencyFloors(bench, work)
    const report = renderReport({
      results,
      ceilings,
      floors,
      header: {
        started,
        nodeVersion,
        rabbitVersion,
        load: [loadBefore, loadavg()[0]!],
        command: process.argv.slice(2).join(' '),
      },
    })
    process.stdout.write(report)
    process.stderr.write(`\ncompare.sh's own table:\n${table}`)
    if (values.out) writeFileSync(values.out, report)
    const broken = results.filter((r) => r.broker_name === 'warren' && (r.exactly_once === false || r.error))
    if (broken.length > 0) {
      process.stderr.write(`Warren runs not exactly-once or failed: ${JSON.stringify(broken)}\n`)
      process.exitCode = 1
    }
  } finally {
    warren?.kill('SIGTERM')
    await rabbit.stop()
    if (warren && warren.exitCode === null) await new Promise((r) => warren!.once('exit', r))
    rmSync(work, { recursive: true, force: true })
  }
}

interface ReportInput {
  results: Result[]
  ceilings: Record<16 | 1024, number> | undefined
  floors: Record<string, Record<FloorPath, number>>
  header: { started: Date; nodeVersion: string; rabbitVersion: string; load: [number, number]; command: string }
}

function renderReport({ results, ceilings, floors, header }: ReportInput): string {
  const lines = [
    `Warren on Node ${header.nodeVersion} beside RabbitMQ ${header.rabbitVersion}, ${header.started.toISOString()};` +
      ` 1-min load ${header.load[0].toFixed(1)} before, ${header.load[1].toFixed(1)} after.`,
    `Command: \`node dist/bench/compare-rabbitmq.js ${header.command}\`. Medians of the rounds; ` +
      'CPU is % of one core over the run (RabbitMQ may use both, Warren runs its JavaScript on one).',
    '',
    '| scenario | figure | RabbitMQ | Warren | Warren ÷ RabbitMQ | RabbitMQ CPU | Warren CPU | Warren exactly-once |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ]
  const scenarios = [...new Set(results.map((r) => r.scenario))]
  const medians: Record<string, number | undefined> = {}
  for (const id of scenarios) {
    const of = (broker: string) => results.filter((r) => r.scenario === id && r.broker_name === broker)
    const [rabbit, warren] = [of('rabbitmq'), of('warren')]
    const sample = warren[0] ?? rabbit[0]!
    const { unit, lowerIsBetter } = figure(sample)
    const value = (rs: Result[]) => median(rs.flatMap((r) => (figure(r).value === undefined ? [] : [figure(r).value!])))
    const cpu = (rs: Result[]) => median(rs.flatMap((r) => (r.broker_cpu_pct === undefined ? [] : [r.broker_cpu_pct])))
    const [a, b] = [value(rabbit), value(warren)]
    medians[id] = b
    // As the targets are put: Warren's figure over RabbitMQ's, whichever way is better
    const ratio = a && b ? b / a : undefined
    const once = warren.every((r) => r.exactly_once ?? (r.opened === r.requested || r.opened === undefined))
    const digits = unit === 'ms p99' ? 2 : 0
    lines.push(
      `| ${id} ${SCENARIO_NAMES[id] ?? ''} | ${unit}${lowerIsBetter ? ' (lower is better)' : ''} | ${fmt(a, digits)} | ${fmt(b, digits)} | ` +
        `${ratio === undefined ? '–' : ratio.toFixed(2) + '×'} | ${fmt(cpu(rabbit))}% | ${fmt(cpu(warren))}% | ` +
        `${once ? 'yes' : 'NO'} |`,
    )
  }
  if (ceilings) {
    lines.push(
      '',
      `Loopback ceiling through a Node relay on the same Node (tcpceil via noderelay.js, 64 KiB writes): ` +
        `16 B ${fmt(ceilings[16])} msg/s, 1 KB ${fmt(ceilings[1024])} msg/s.`,
    )
    for (const [id, size] of [
      ['a', 16],
      ['b', 1024],
    ] as const) {
      const m = medians[id]
      if (m !== undefined) lines.push(`- ${id}: Warren at ${((100 * m) / ceilings[size]).toFixed(1)}% of the ceiling.`)
    }
  }
  if (Object.keys(floors).length > 0) {
    lines.push(
      '',
      'Latency floor (bench/latency-floor.c: the same paced 16 B messages, one send each, over loopback with no ' +
        'broker; p99 in ms, median of the rounds):',
    )
    for (const [id, floor] of Object.entries(floors)) {
      const paths = (Object.keys(FLOOR_PATHS) as FloorPath[]).map((p) => `${FLOOR_PATHS[p]} ${floor[p].toFixed(3)}`)
      lines.push(`- ${id}: ${paths.join(', ')}.`)
    }
  }
  return lines.join('\n') + '\n'
}

await main()
