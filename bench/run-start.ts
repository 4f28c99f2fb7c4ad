// What every run does before its workers start: the broker probe, the setup connection and the queue, and
// the failure plumbing (the first worker failure ends the run; every wait races against it).
import { connect, type ChannelModel } from 'amqplib'
import { BrokerProbe } from './broker-probe.js'
import type { BenchOptions } from './options.js'
import { prepareTopology, type Topology } from './topology.js'
import type { BenchWorker } from './worker-pool.js'
import type { WorkerEvent } from './worker-protocol.js'

/** The options with the queue and routing key the run actually uses. */
export type RunSettings = BenchOptions & { queue: string; routingKey: string }

export interface RunStart {
  probe: BrokerProbe | null
  setup: ChannelModel
  topology: Topology
  settings: RunSettings
  failure: AbortController
  rejectRun: (error: Error) => void
  untilFailure: <T>(promise: Promise<T>) => Promise<T>
  /** Reports the broker blocking a connection, once per reason */
  onEvent: (worker: BenchWorker, event: WorkerEvent) => void
}

export async function startRun(
  options: BenchOptions,
  hooks: { started(settings: RunSettings): void; notice(text: string): void },
  blockedNotice: string,
): Promise<RunStart> {
  const probe = options.brokerPid === null ? null : new BrokerProbe(options.brokerPid)
  const setup = await connect(options.url, { clientProperties: { connection_name: 'warren-bench setup' } })
  setup.on('error', () => {}) // failures surface as rejected calls
  const topology = await prepareTopology(setup, options).catch(async (error: unknown) => {
    await setup.close().catch(() => {})
    throw error
  })
  const settings: RunSettings = { ...options, queue: topology.queue, routingKey: topology.routingKey }
  hooks.started(settings)

  const failure = new AbortController()
  let rejectRun: (error: Error) => void = () => {}
  const runFailed = new Promise<never>((_, reject) => {
    rejectRun = (error) => {
      failure.abort()
      reject(error)
    }
  })
  runFailed.catch(() => {})
  const untilFailure = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, runFailed])

  const blockedSeen = new Set<string>()
  const onEvent = (_worker: BenchWorker, event: WorkerEvent): void => {
    if (event.type === 'blocked' && !blockedSeen.has(event.reason)) {
      blockedSeen.add(event.reason)
      hooks.notice(`${blockedNotice}: ${event.reason}`)
    }
  }
  return { probe, setup, topology, settings, failure, rejectRun, untilFailure, onEvent }
}
