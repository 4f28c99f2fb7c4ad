// The soak: mixed traffic for a long time against one broker, checking that every confirmed message is
// accounted for and watching the broker's memory and responsiveness. Not run in CI.
//
//   node dist/bench/soak.js --duration 3600                 starts Warren (fresh data dir, free port)
//   node dist/bench/soak.js --duration 60 --url amqp://guest:guest@127.0.0.1:5682/ [--broker-pid PID]
//
// See --help and soak-traffic.ts for the traffic; soak-ledger.ts for the accounting.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import type { Channel, ChannelModel } from 'amqplib'
import { isWarningOrWorse, startBrokerProcess, type BrokerProcess } from '../test/helpers/broker-process.js'
import { BrokerProbe } from './broker-probe.js'
import { UsageError, integer } from './options.js'
import { nowMillis, sleep } from './clock.js'
import { BUCKET_COUNT, percentile, recordLatency, totalCount } from './latency-histogram.js'
import { Ledger, ROUTES, type Accounting, type Route } from './soak-ledger.js'
import {
  declareTopology,
  deleteTopology,
  openConnection,
  runConsumer,
  runDeadLetterConsumer,
  runPoller,
  runPublisher,
  Tally,
  topologyFor,
  type SoakState,
} from './soak-traffic.js'
import { runChurner } from './soak-churn.js'

const USAGE = `Usage: node dist/bench/soak.js [options]

Mixed AMQP traffic for --duration seconds, then a drain and an account of every confirmed message.

  --duration SECONDS     how long to run the traffic (default 60)
  --url URL              use this broker (e.g. RabbitMQ) instead of starting Warren
  --broker-pid PID       with --url: sample that process's RSS and CPU
  --port N               port for the Warren it starts (default: a free one)
  --data-dir DIR         data directory for the Warren it starts (default: a fresh temporary one,
                         removed at the end; a given one is kept)
  --publishers N         confirm publishers (default 4)
  --rate N               messages per second per publisher (default 250)
  --window N             unconfirmed messages per publisher (default 100)
  --consumers N          consumers of the durable and transient queues (default 3)
  --churners N           connection/channel/queue churn loops (default 2)
  --sample SECONDS       broker RSS sampling interval (default 5)
  --progress SECONDS     progress line interval (default 10)
  --drain-timeout SECS   how long the drain may take (default 120)
  --hang-timeout SECS    give up when the broker has not answered the probe's passive declare for
                         this long (default 30): it is stuck
  --broker-log FILE      write the Warren child's log (JSON lines) to FILE at the end
  --skip ROUTES          comma-separated kinds of traffic to leave out, e.g. max-length,churn
                         (of: ${ROUTES.join(', ')}); churn also stops
                         the churn queue's delete and redeclare
  --json                 print the summary as JSON on stdout (progress and markdown on stderr)
  -h, --help             this text

Exit status: 0 if every confirmed message is accounted for, 1 if one is missing, a fresh delivery came
twice, the broker crashed or errors were seen, 2 for bad options.
`

function parseOptions(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      url: { type: 'string' },
      'broker-pid': { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      publishers: { type: 'string' },
      rate: { type: 'string' },
      window: { type: 'string' },
      consumers: { type: 'string' },
      churners: { type: 'string' },
      sample: { type: 'string' },
      progress: { type: 'string' },
      'drain-timeout': { type: 'string' },
      'hang-timeout': { type: 'string' },
      'broker-log': { type: 'string' },
      skip: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return null
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`)
  if (values.url !== undefined && (values.port !== undefined || values['data-dir'] !== undefined)) {
    throw new UsageError('--port and --data-dir are for the Warren the soak starts, not with --url')
  }
  if (values.url === undefined && values['broker-pid'] !== undefined) {
    throw new UsageError('--broker-pid goes with --url (the soak knows the pid of the Warren it starts)')
  }
  const skip = (values.skip ?? '').split(',').filter((r) => r !== '')
  for (const route of skip) {
    if (!(ROUTES as readonly string[]).includes(route)) throw new UsageError(`--skip: unknown traffic kind ${route}`)
  }
  if (skip.length === ROUTES.length) throw new UsageError('--skip leaves nothing to publish')
  return {
    skip: skip as Route[],
    durationSeconds: integer('duration', values.duration, 60, 1),
    url: values.url ?? null,
    brokerPid: values['broker-pid'] === undefined ? null : integer('broker-pid', values['broker-pid'], 0, 1),
    port: values.port === undefined ? null : integer('port', values.port, 0, 1),
    dataDir: values['data-dir'] ?? null,
    publishers: integer('publishers', values.publishers, 4, 1),
    rate: integer('rate', values.rate, 250, 1),
    window: integer('window', values.window, 100, 1),
    consumers: integer('consumers', values.consumers, 3, 1),
    churners: integer('churners', values.churners, 2, 0),
    sampleSeconds: integer('sample', values.sample, 5, 1),
    progressSeconds: integer('progress', values.progress, 10, 1),
    drainTimeoutSeconds: integer('drain-timeout', values['drain-timeout'], 120, 1),
    brokerLog: values['broker-log'] ?? null,
    hangTimeoutSeconds: integer('hang-timeout', values['hang-timeout'], 30, 5),
    json: values.json,
  }
}
type SoakOptions = NonNullable<ReturnType<typeof parseOptions>>

const log = (line: string): void => {
  process.stderr.write(`${line}\n`)
}
const mb = (bytes: number): number => Math.round((bytes / 1e6) * 10) / 10
const ms = (micros: number): number => Math.round(micros) / 1000

/**
 * Round trips of a passive queue.declare on a connection of their own, once a second. A broker answers it
 * from its event loop at once, so for Warren this is the event-loop delay as a client feels it (plus a
 * loopback round trip, some 0.1 ms); it is not an in-process measurement.
 */
class LoopProbe {
  readonly all = new Float64Array(BUCKET_COUNT)
  interval = new Float64Array(BUCKET_COUNT)
  maxMicros = 0
  intervalMaxMicros = 0
  /** When the broker last answered (or when the probe started) */
  lastAnswerAt = nowMillis()
  failures = 0
  private model: ChannelModel | null = null
  private channel: Channel | null = null

  constructor(
    private readonly soak: SoakState,
    private readonly queue: string,
  ) {}

  async run(): Promise<void> {
    while (!this.soak.finished) {
      const started = nowMillis()
      try {
        if (this.channel === null) {
          this.model = await openConnection(this.soak, 'event-loop probe')
          this.channel = await this.model.createChannel()
          this.channel.on('error', () => {})
          this.channel.on('close', () => (this.channel = null))
        }
        const before = nowMillis()
        await this.channel.checkQueue(this.queue)
        this.lastAnswerAt = nowMillis()
        const micros = (this.lastAnswerAt - before) * 1000
        recordLatency(this.all, micros)
        recordLatency(this.interval, micros)
        this.maxMicros = Math.max(this.maxMicros, micros)
        this.intervalMaxMicros = Math.max(this.intervalMaxMicros, micros)
      } catch (err) {
        this.failures++
        this.soak.tally.error('event-loop probe', err)
        this.channel = null
      }
      await sleep(Math.max(0, 1000 - (nowMillis() - started)))
    }
    await this.model?.close().catch(() => {})
  }

  takeInterval(): { p99: number; max: number } {
    const max = this.intervalMaxMicros
    const result = { p99: ms(percentile(this.interval, 99, max)), max: ms(max) }
    this.interval = new Float64Array(BUCKET_COUNT)
    this.intervalMaxMicros = 0
    return result
  }
}

interface RssSample {
  seconds: number
  rssMB: number
}

async function main(options: SoakOptions): Promise<number> {
  let broker: BrokerProcess | null = null
  let url = options.url
  if (url === null) {
    broker = await startBrokerProcess({
      dataDir: options.dataDir ?? undefined,
      args: options.port === null ? [] : ['--port', String(options.port)],
      startTimeoutMs: 60_000,
    })
    url = broker.url
    log(`started Warren: pid ${broker.pid}, ${url}, data dir ${broker.dataDir}`)
  }
  const brokerPid = broker?.pid ?? options.brokerPid
  const probe = brokerPid === null ? null : new BrokerProbe(brokerPid)
  let brokerCrashed: string | null = null
  let stoppingBroker = false
  void broker?.exited.then((exit) => {
    if (!stoppingBroker) brokerCrashed = `exited: code ${exit.code}, signal ${exit.signal}`
  })

  const prefix = `soak-${randomBytes(3).toString('hex')}`
  const soak: SoakState = {
    url: `${url}${url.includes('?') ? '&' : '?'}heartbeat=30`,
    topology: topologyFor(prefix),
    ledger: new Ledger(),
    // A churner or the poller may get from the churn queue while another churner has it deleted
    tally: new Tally([/NOT_FOUND - no queue '[^']*\.churn'/]),
    stopping: false,
    draining: false,
    finished: false,
    rate: options.rate,
    skip: new Set(options.skip),
    window: options.window,
    connectionsOpened: 0,
    channelsOpened: 0,
    queuesDeclared: 0,
    queuesDeleted: 0,
  }
  const admin = await openConnection(soak, 'admin')
  let adminChannel = await admin.createChannel()
  await declareTopology(adminChannel, soak.topology)

  const rss: RssSample[] = []
  const started = nowMillis()
  const elapsed = (): number => (nowMillis() - started) / 1000
  const sampleRss = (): void => {
    if (probe === null || brokerCrashed !== null) return
    try {
      rss.push({ seconds: Math.round(elapsed()), rssMB: mb(probe.sample().rssBytes) })
    } catch {
      // the process is gone; the exit handler says why
    }
  }
  sampleRss()
  probe?.restartCpuMeasurement()

  const loopProbe = new LoopProbe(soak, soak.topology.durable[0]!)
  // The soak's own event-loop delay: a round trip is only the broker's when this stays small
  const clientDelay = monitorEventLoopDelay({ resolution: 10 })
  clientDelay.enable()
  const consumers = [
    ...Array.from({ length: options.consumers }, (_, i) => runConsumer(soak, i)),
    runDeadLetterConsumer(soak),
    runPoller(soak),
    loopProbe.run(),
  ]
  const producers = [
    ...Array.from({ length: options.publishers }, (_, i) => runPublisher(soak, i)),
    ...Array.from({ length: options.churners }, (_, i) => runChurner(soak, i)),
  ]
  log(
    `soak ${prefix}: ${options.durationSeconds} s, ${options.publishers} publishers x ${options.rate} msg/s, ` +
      `${options.consumers} consumers, ${options.churners} churners`,
  )

  // ---- the run ----
  const sampler = setInterval(sampleRss, options.sampleSeconds * 1000)
  let last = { at: nowMillis(), published: 0, confirms: 0, deliveries: 0, nacks: 0, connections: 0 }
  const progress = (phase: string): void => {
    const now = nowMillis()
    const secs = (now - last.at) / 1000
    const { ledger } = soak
    const rate = (n: number) => Math.round(n / secs).toLocaleString('en-US')
    const loop = loopProbe.takeInterval()
    const latestRss = rss.length > 0 ? `${rss[rss.length - 1]!.rssMB} MB` : 'n/a'
    log(
      `${phase} ${String(Math.round(elapsed())).padStart(5)}s | pub ${rate(ledger.published - last.published)}/s` +
        ` conf ${rate(ledger.confirms - last.confirms)}/s nack ${rate(ledger.nacks - last.nacks)}/s` +
        ` | deliv ${rate(ledger.deliveries - last.deliveries)}/s | conns ${rate(soak.connectionsOpened - last.connections)}/s` +
        ` | rss ${latestRss} | rtt p99 ${loop.p99} ms max ${loop.max} ms | errors ${soak.tally.errorCount()}`,
    )
    last = {
      at: now,
      published: ledger.published,
      confirms: ledger.confirms,
      deliveries: ledger.deliveries,
      nacks: ledger.nacks,
      connections: soak.connectionsOpened,
    }
  }
  const ticker = setInterval(() => progress('run  '), options.progressSeconds * 1000)
  const runEnd = nowMillis() + options.durationSeconds * 1000
  let brokerHung: string | null = null
  const checkHung = (): boolean => {
    const silentSeconds = (nowMillis() - loopProbe.lastAnswerAt) / 1000
    if (brokerHung === null && silentSeconds > options.hangTimeoutSeconds) {
      brokerHung = `no answer to a passive queue.declare for ${Math.round(silentSeconds)} s`
    }
    return brokerHung !== null
  }
  while (nowMillis() < runEnd && brokerCrashed === null && !checkHung()) await sleep(200)
  const trafficSeconds = elapsed()

  // ---- stop publishing, drain ----
  soak.stopping = true
  // A stuck or dead broker confirms nothing more: do not wait long for the publishers then
  const stopWaitSeconds = brokerCrashed === null && brokerHung === null ? 60 : 5
  const stopped = await Promise.race([
    Promise.all(producers).then(() => true),
    sleep(stopWaitSeconds * 1000).then(() => false),
  ])
  if (!stopped) soak.tally.error('drain', `publishers or churners did not stop within ${stopWaitSeconds} s`)
  soak.draining = true
  const drainStarted = nowMillis()
  const t = soak.topology
  const allQueues = [...t.durable, ...t.transient, t.maxLength, t.ttl, t.churn, t.deadLetter]
  let drained = false
  let quiet = 0
  let lastDeliveries = -1
  while (brokerCrashed === null && !checkHung() && nowMillis() - drainStarted < options.drainTimeoutSeconds * 1000) {
    await sleep(1000)
    let ready = 0
    try {
      for (const q of allQueues) ready += (await adminChannel.checkQueue(q)).messageCount
    } catch (err) {
      soak.tally.error('drain', err)
      try {
        adminChannel = await admin.createChannel()
      } catch {
        break
      }
      continue
    }
    const deliveries = soak.ledger.deliveries + soak.ledger.deadLetters
    // Empty and no delivery for a while: unacked ones (held by a consumer) would have been acked by now
    quiet = ready === 0 && deliveries === lastDeliveries ? quiet + 1 : 0
    lastDeliveries = deliveries
    if (quiet >= 3) {
      drained = true
      break
    }
  }
  const drainSeconds = (nowMillis() - drainStarted) / 1000
  progress('drain')
  clearInterval(ticker)
  clearInterval(sampler)
  sampleRss()
  soak.finished = true
  await Promise.race([Promise.all(consumers), sleep(10_000)])

  const accounting = soak.ledger.account()
  if (brokerCrashed === null && brokerHung === null) {
    try {
      await deleteTopology(adminChannel, t)
      await admin.close()
    } catch (err) {
      soak.tally.error('cleanup', err)
    }
  }
  const cpuPercent = probe === null ? null : Math.round(probe.cpuPercent())
  let brokerLog: Record<string, number> = {}
  if (broker !== null) {
    stoppingBroker = brokerCrashed === null
    if (brokerHung !== null) {
      broker.kill('SIGKILL')
      await broker.exited
    } else if (brokerCrashed === null) {
      const exit = await broker.stop(30_000).catch((err: unknown) => ({ code: null, signal: String(err) }))
      if (exit.code !== 0) soak.tally.error('broker stop', `exit code ${exit.code}, signal ${exit.signal}`)
    }
    brokerLog = summariseBrokerLog(broker)
    if (options.brokerLog !== null) writeFileSync(options.brokerLog, `${broker.stdoutLines.join('\n')}\n`)
  }

  const rssValues = rss.map((s) => s.rssMB)
  const summary = {
    broker: broker === null ? url.replace(/\/\/[^@]*@/, '//') : `Warren (child pid ${broker.pid})`,
    durationSeconds: options.durationSeconds,
    trafficSeconds: Math.round(trafficSeconds),
    drainSeconds: Math.round(drainSeconds),
    drained,
    brokerCrashed,
    brokerHung,
    skipped: options.skip,
    settings: {
      publishers: options.publishers,
      ratePerPublisher: options.rate,
      window: options.window,
      consumers: options.consumers,
      churners: options.churners,
    },
    rates: {
      publishedPerSecond: Math.round(accounting.published / trafficSeconds),
      deliveriesPerSecond: Math.round(soak.ledger.deliveries / (trafficSeconds + drainSeconds)),
    },
    churn: {
      connectionsOpened: soak.connectionsOpened,
      channelsOpened: soak.channelsOpened,
      queuesDeclared: soak.queuesDeclared,
      queuesDeleted: soak.queuesDeleted,
      churnQueueEpochs: soak.ledger.churnEpoch / 2,
    },
    rssMB:
      rssValues.length === 0
        ? null
        : { start: rssValues[0]!, max: Math.max(...rssValues), end: rssValues[rssValues.length - 1]!, samples: rss },
    brokerCpuPercent: cpuPercent,
    eventLoopRoundTripMs: {
      what: 'passive queue.declare round trip on a dedicated connection, once a second',
      samples: totalCount(loopProbe.all),
      p50: ms(percentile(loopProbe.all, 50, loopProbe.maxMicros)),
      p99: ms(percentile(loopProbe.all, 99, loopProbe.maxMicros)),
      max: ms(loopProbe.maxMicros),
      failures: loopProbe.failures,
    },
    soakEventLoopDelayMs: {
      p99: Math.round(clientDelay.percentile(99) / 1e3) / 1e3,
      max: Math.round(clientDelay.max / 1e3) / 1e3,
    },
    accounting,
    deliveries: soak.ledger.deliveries,
    deadLetterDeliveries: soak.ledger.deadLetters,
    events: Object.fromEntries(soak.tally.events),
    errors: Object.fromEntries(soak.tally.errors),
    brokerLog,
  }
  const failures: string[] = []
  if (brokerCrashed !== null) failures.push(`the broker crashed (${brokerCrashed})`)
  if (brokerHung !== null) failures.push(`the broker hung (${brokerHung}; the drain was skipped)`)
  if (accounting.missing > 0) failures.push(`${accounting.missing} confirmed messages missing`)
  if (accounting.duplicatesWithoutRedelivered > 0) {
    failures.push(`${accounting.duplicatesWithoutRedelivered} deliveries repeated without redelivered`)
  }
  if (accounting.unroutableNotReturned > 0) {
    failures.push(`${accounting.unroutableNotReturned} mandatory unroutable messages not returned`)
  }
  if (!drained) failures.push('the queues did not drain')
  if (soak.tally.errorCount() > 0) failures.push(`${soak.tally.errorCount()} errors`)

  const markdown = renderMarkdown(summary, accounting, failures)
  if (options.json) {
    log(markdown)
    process.stdout.write(`${JSON.stringify({ ...summary, failures }, null, 2)}\n`)
  } else {
    process.stdout.write(`${markdown}\n`)
  }
  return failures.length === 0 ? 0 : 1
}

/** Warren's warnings and errors, and its channel errors by code. */
function summariseBrokerLog(broker: BrokerProcess): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const line of broker.logs()) {
    let key: string | null = null
    if (line.msg === 'channel error') key = `channel error ${String(line['code'])} ${String(line['text'])}`
    else if (isWarningOrWorse(line)) key = `${line.level}: ${line.msg}`
    if (key !== null) counts[key.slice(0, 160)] = (counts[key.slice(0, 160)] ?? 0) + 1
  }
  if (broker.stderr().trim() !== '') counts[`stderr: ${broker.stderr().trim().slice(0, 300)}`] = 1
  return counts
}

function renderMarkdown(
  s: {
    broker: string
    drained: boolean
    trafficSeconds: number
    drainSeconds: number
    rates: { publishedPerSecond: number; deliveriesPerSecond: number }
    churn: Record<string, number>
    rssMB: { start: number; max: number; end: number } | null
    brokerCpuPercent: number | null
    eventLoopRoundTripMs: { p50: number; p99: number; max: number; samples: number }
    soakEventLoopDelayMs: { p99: number; max: number }
    events: Record<string, number>
    errors: Record<string, number>
    brokerLog: Record<string, number>
  },
  a: Accounting,
  failures: string[],
): string {
  const n = (x: number) => x.toLocaleString('en-US')
  const lines = [
    `## Soak: ${s.broker}, ${s.trafficSeconds} s of traffic, drained in ${s.drainSeconds} s`,
    '',
    `| | |`,
    `| --- | --- |`,
    `| published | ${n(a.published)} (${n(s.rates.publishedPerSecond)} msg/s) |`,
    `| confirmed (ack) | ${n(a.confirmed)} |`,
    `| nacked | ${n(a.nacked)} (delivered all the same: ${n(a.nackedButDelivered)}) |`,
    `| unconfirmed (channel closed first) | ${n(a.unconfirmed)} |`,
    `| consumed | ${n(a.consumed)} (of which acked twice after a redelivery: ${n(a.consumedTwice)}) |`,
    `| rejected, dead-lettered and consumed | ${n(a.deadLetteredAndConsumed)} |`,
    `| returned (mandatory, unroutable) | ${n(a.returned)} |`,
    `| expired (TTL queue) | ${n(a.expired)} |`,
    `| dropped by a queue.delete of the churn queue | ${n(a.droppedByQueueDelete)} |`,
    `| fanout copies gone with their temporary queues | ${n(a.ephemeralGone)} |`,
    `| **missing** | **${n(a.missing)}** ${a.missing > 0 ? JSON.stringify(a.missingByRoute) : ''}${s.drained ? '' : ' (not drained: counts those not consumed yet too)'} |`,
    `| repeated without redelivered | ${n(a.duplicatesWithoutRedelivered)} |`,
    `| unexpected dead letters | ${n(a.unexpectedDeadLetters)} |`,
    `| connections / channels opened | ${n(s.churn['connectionsOpened']!)} / ${n(s.churn['channelsOpened']!)} |`,
    `| queues declared / deleted by churn | ${n(s.churn['queuesDeclared']!)} / ${n(s.churn['queuesDeleted']!)} (churn queue deleted and redeclared ${n(s.churn['churnQueueEpochs']!)} times) |`,
    `| broker RSS start / max / end | ${s.rssMB === null ? 'n/a' : `${s.rssMB.start} / ${s.rssMB.max} / ${s.rssMB.end} MB`} |`,
    `| broker CPU (average, % of one core) | ${s.brokerCpuPercent ?? 'n/a'} |`,
    `| passive declare round trip p50 / p99 / max | ${s.eventLoopRoundTripMs.p50} / ${s.eventLoopRoundTripMs.p99} / ${s.eventLoopRoundTripMs.max} ms (${s.eventLoopRoundTripMs.samples} samples) |`,
    `| the soak's own event-loop delay p99 / max | ${s.soakEventLoopDelayMs.p99} / ${s.soakEventLoopDelayMs.max} ms |`,
    '',
  ]
  const list = (title: string, counts: Record<string, number>) => {
    const entries = Object.entries(counts)
    if (entries.length === 0) return
    lines.push(`${title}:`, ...entries.map(([k, v]) => `- ${n(v)} × ${k}`), '')
  }
  list('Events (expected)', s.events)
  list('Errors', s.errors)
  list('Broker log (warnings, errors, channel errors)', s.brokerLog)
  if (a.missingExamples.length > 0) lines.push(`Missing ids (base 36): ${a.missingExamples.join(', ')}`, '')
  if (a.duplicateExamples.length > 0) lines.push(`Repeated ids: ${a.duplicateExamples.join(', ')}`, '')
  lines.push(failures.length === 0 ? 'Result: PASS' : `Result: FAIL: ${failures.join('; ')}`)
  return lines.join('\n')
}

let options: SoakOptions | null
try {
  options = parseOptions(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw err
  log(`soak: ${(err as Error).message}\n\n${USAGE}`)
  process.exit(2)
}
// Exit through process.exit, so that the Warren child is killed on the way out (broker-process.ts)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130))
if (options === null) {
  process.stdout.write(USAGE)
} else {
  main(options).then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
      process.exit(1)
    },
  )
}
