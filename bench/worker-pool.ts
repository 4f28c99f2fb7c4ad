import { Worker } from 'node:worker_threads'
import { nowMillis } from './clock.js'
import { createHistogramBuffer } from './latency-histogram.js'
import { threadCpuSeconds } from './proc-stat.js'
import { createCounterBuffer } from './worker-counters.js'
import type { ControlMessage, WorkerConfig, WorkerEvent } from './worker-protocol.js'

const WORKER_SCRIPT = new URL('./worker.js', import.meta.url)

/** Config for a worker, minus the shared buffers the pool allocates. */
export type WorkerSpec =
  | Omit<Extract<WorkerConfig, { role: 'publisher' }>, 'counters'>
  | Omit<Extract<WorkerConfig, { role: 'consumer' }>, 'counters' | 'histogram'>
  | Omit<Extract<WorkerConfig, { role: 'rpc-server' }>, 'counters'>
  | Omit<Extract<WorkerConfig, { role: 'rpc-client' }>, 'counters' | 'histogram'>

/** The main thread's handle on one publisher, consumer, RPC server or RPC client thread. */
export class BenchWorker {
  readonly label: string
  readonly counters: Float64Array
  /** consumers and RPC clients only */
  readonly histogram: Float64Array | null
  readonly ready: Promise<void>
  /** publishers: resolves once done publishing and confirmed; RPC clients: once every request is answered */
  readonly finished: Promise<void>
  readonly exited: Promise<void>
  isFinished = false
  isExited = false
  private terminating = false
  private readonly thread: Worker
  private osThreadId: number | null = null
  private lastCpu: { atMillis: number; seconds: number } | null = null

  constructor(
    spec: WorkerSpec,
    onEvent: (worker: BenchWorker, event: WorkerEvent) => void,
    onError: (error: Error) => void,
  ) {
    this.label = `${spec.role} ${spec.index}`
    const counters = createCounterBuffer()
    const histogram = spec.role === 'consumer' || spec.role === 'rpc-client' ? createHistogramBuffer() : null
    this.counters = new Float64Array(counters)
    this.histogram = histogram && new Float64Array(histogram)
    const config: WorkerConfig =
      spec.role === 'publisher' || spec.role === 'rpc-server'
        ? { ...spec, counters }
        : { ...spec, counters, histogram: histogram! }
    this.thread = new Worker(WORKER_SCRIPT, { workerData: config })

    let markReady = (): void => {}
    let markFinished = (): void => {}
    this.ready = new Promise((resolve) => (markReady = resolve))
    this.finished = new Promise((resolve) => (markFinished = resolve))
    this.exited = new Promise((resolve) => this.thread.once('exit', () => resolve()))

    this.thread.on('message', (event: WorkerEvent) => {
      if (event.type === 'ready') {
        this.osThreadId = event.osThreadId
        markReady()
      }
      if (event.type === 'finished') {
        this.isFinished = true
        markFinished()
      }
      onEvent(this, event)
    })
    this.thread.on('error', (error) => onError(new Error(`${this.label}: ${error.message}`)))
    this.thread.once('exit', (code) => {
      this.isExited = true
      if (code !== 0 && !this.terminating) onError(new Error(`${this.label} exited with code ${code}`))
    })
  }

  send(message: ControlMessage): void {
    if (!this.isExited) this.thread.postMessage(message)
  }

  /**
   * The worker thread's CPU use since the previous call, as a fraction of
   * one core, or null before the first call, once the thread has gone, or
   * without /proc. Near 1 means this worker, not the broker, sets the pace.
   */
  cpuSinceLastCall(): { fraction: number; overMillis: number } | null {
    if (this.osThreadId === null || this.isExited) return null
    const seconds = threadCpuSeconds(this.osThreadId)
    if (seconds === null) return null
    const now = { atMillis: nowMillis(), seconds }
    const previous = this.lastCpu
    this.lastCpu = now
    if (previous === null) return null
    const overMillis = now.atMillis - previous.atMillis
    return { fraction: ((now.seconds - previous.seconds) * 1000) / overMillis, overMillis }
  }

  async terminate(): Promise<void> {
    this.terminating = true
    await this.thread.terminate()
  }
}
