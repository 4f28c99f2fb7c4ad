// The course every warren-bench run takes, whatever its workers do: launch the workers that take the load,
// then those that make it; start the clock and the load; sample progress every second until the run is over;
// collect the results; shut the workers down and remove the queue. A RunPlan says what differs: which
// workers, what their counters mean, when the run is over and what the result is.
import type { ChannelModel } from 'amqplib'
import type { BrokerProbe } from './broker-probe.js'
import { nowMillis, sleep } from './clock.js'
import type { BenchOptions } from './options.js'
import { startRun, type RunSettings } from './run-start.js'
import { removeTopology, type Topology } from './topology.js'
import { BenchWorker, type WorkerSpec } from './worker-pool.js'
import type { ControlMessage, ReceiverConfig, SenderConfig } from './worker-protocol.js'

/** How often the main thread checks whether the run is over; bounds the error in its end time. */
export const POLL_MILLIS = 20
export const PROGRESS_MILLIS = 1000
const WORKER_EXIT_TIMEOUT_MILLIS = 5000

export interface RunHooks<Sample> {
  /** the queue is ready and the workers are about to start */
  started(settings: RunSettings): void
  progress(sample: Sample): void
  notice(text: string): void
  /** aborting stops the load at once and skips the drain */
  signal: AbortSignal
}

/** What the main thread samples while the run goes on. */
export interface RunStats<Sample> {
  /** progress figures since the previous call */
  sample(): Sample
  /** brings the per-thread CPU peaks up to date */
  sampleCpu(): void
}

/**
 * Asked at every poll, after stopping the load at the end of the duration and sampling progress: undefined
 * while the run goes on; once it is over, null if it completed, else why it is incomplete.
 */
export type Verdict = (now: number, stopSentAt: number | null) => string | null | undefined

/** A run that is over, for its plan to turn into a result. */
export interface FinishedRun<Stats> {
  settings: RunSettings
  stats: Stats
  probe: BrokerProbe | null
  startedAt: number
  endedAt: number
  /** the whole tool process since the start, percent of one core */
  toolCpuPercent: number
  incomplete: string | null
}

export interface RunPlan<Stats extends RunStats<Sample>, Sample, Result> {
  /** the notice when the broker blocks a connection */
  blockedNotice: string
  /** launched first and awaited ready, so that nothing is sent before they listen: consumers, RPC servers */
  receivers: { count: number; spec(common: ReceiverConfig): WorkerSpec }
  /** launched next; sent 'start' when the clock starts and 'stop' at the end of the duration */
  senders: { count: number; spec(common: SenderConfig): WorkerSpec }
  stats(
    senders: readonly BenchWorker[],
    receivers: readonly BenchWorker[],
    probe: BrokerProbe | null,
    startedAt: number,
  ): Stats
  /** called once, when the load starts */
  verdict(senders: readonly BenchWorker[], stats: Stats, startedAt: number): Verdict
  result(run: FinishedRun<Stats>, progress: Sample[]): Result
  /** tells the workers to go and waits for them (see shutDown) */
  shutDown(senders: readonly BenchWorker[], receivers: readonly BenchWorker[]): Promise<void>
}

export async function runWorkers<Stats extends RunStats<Sample>, Sample, Result>(
  options: BenchOptions,
  hooks: RunHooks<Sample>,
  plan: RunPlan<Stats, Sample, Result>,
): Promise<Result> {
  const { probe, setup, topology, settings, failure, rejectRun, untilFailure, onEvent } = await startRun(
    options,
    hooks,
    plan.blockedNotice,
  )
  const receivers: BenchWorker[] = []
  const senders: BenchWorker[] = []
  // Each worker joins its list as soon as it is spawned, so that a failed launch still shuts it down
  const launch = async (workers: BenchWorker[], count: number, spec: (index: number) => WorkerSpec): Promise<void> => {
    for (let index = 1; index <= count; index++) workers.push(new BenchWorker(spec(index), onEvent, rejectRun))
    await untilFailure(Promise.all(workers.map((worker) => worker.ready)))
  }

  try {
    // With no senders the receivers start draining as soon as they subscribe
    const receiversLaunchedAt = nowMillis()
    await launch(receivers, plan.receivers.count, (index) =>
      plan.receivers.spec({
        index,
        url: options.url,
        queue: topology.queue,
        noAck: options.ack === 'auto',
        prefetch: options.prefetch,
      }),
    )
    await launch(senders, plan.senders.count, (index) =>
      plan.senders.spec({
        index,
        url: options.url,
        exchange: options.exchange,
        routingKey: topology.routingKey,
        bodySize: options.size,
        persistent: options.persistent,
      }),
    )

    const startedAt = senders.length > 0 ? nowMillis() : receiversLaunchedAt
    const cpuAtStart = process.cpuUsage()
    probe?.restartCpuMeasurement()
    const stats = plan.stats(senders, receivers, probe, startedAt)
    for (const sender of senders) sender.send({ type: 'start' })

    const progress: Sample[] = []
    const isOver = plan.verdict(senders, stats, startedAt)
    const incomplete = await untilFailure(
      supervise(options, senders, stats, startedAt, hooks, failure.signal, isOver, (sample) => {
        progress.push(sample)
        hooks.progress(sample)
      }),
    )
    stats.sampleCpu()
    probe?.sample()
    const endedAt = nowMillis()
    const cpu = process.cpuUsage(cpuAtStart)
    const toolCpuPercent = ((cpu.user + cpu.system) / 1000 / (endedAt - startedAt)) * 100
    return plan.result({ settings, stats, probe, startedAt, endedAt, toolCpuPercent, incomplete }, progress)
  } finally {
    await plan.shutDown(senders, receivers)
    await cleanUp(setup, topology, hooks)
  }
}

/**
 * Polls until the plan's verdict says the run is over, stopping the senders once the duration is over (or on
 * Ctrl-C) and sampling progress every PROGRESS_MILLIS. Returns why the run is incomplete, or null.
 */
async function supervise<Sample>(
  options: BenchOptions,
  senders: readonly BenchWorker[],
  stats: RunStats<Sample>,
  startedAt: number,
  hooks: RunHooks<Sample>,
  failed: AbortSignal,
  isOver: Verdict,
  onProgress: (sample: Sample) => void,
): Promise<string | null> {
  const durationEndsAt = options.duration === null ? Infinity : startedAt + options.duration * 1000
  let stopSentAt: number | null = null
  let nextProgressAt = startedAt + PROGRESS_MILLIS

  for (;;) {
    await sleep(POLL_MILLIS)
    if (failed.aborted) return null // the run's outcome is the failure, reported elsewhere
    const now = nowMillis()
    if (stopSentAt === null && (now >= durationEndsAt || hooks.signal.aborted)) {
      for (const sender of senders) sender.send({ type: 'stop' })
      stopSentAt = now
    }
    if (now >= nextProgressAt) {
      onProgress(stats.sample())
      nextProgressAt = Math.max(nextProgressAt + PROGRESS_MILLIS, now + PROGRESS_MILLIS / 2)
    }
    const verdict = isOver(now, stopSentAt)
    if (verdict !== undefined) return verdict
  }
}

/** Tells the workers to stop (or `message`) and waits for them to exit, terminating stragglers. */
export async function shutDown(
  workers: readonly BenchWorker[],
  message: ControlMessage = { type: 'stop' },
): Promise<void> {
  for (const worker of workers) worker.send(message)
  let timer: NodeJS.Timeout | undefined
  const timedOut = await Promise.race([
    Promise.all(workers.map((worker) => worker.exited)).then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), WORKER_EXIT_TIMEOUT_MILLIS))),
  ])
  clearTimeout(timer)
  if (timedOut) await Promise.all(workers.filter((worker) => !worker.isExited).map((worker) => worker.terminate()))
}

/** Deletes what the run declared and closes the setup connection; failures are only a notice. */
async function cleanUp(
  setup: ChannelModel,
  topology: Topology,
  hooks: Pick<RunHooks<unknown>, 'notice'>,
): Promise<void> {
  try {
    await removeTopology(setup, topology)
    await setup.close()
  } catch (error) {
    hooks.notice(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`)
  }
}
