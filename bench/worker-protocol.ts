/** What the main thread hands each worker, and the messages they exchange. */

export interface PublisherConfig {
  role: 'publisher'
  index: number
  url: string
  exchange: string
  routingKey: string
  bodySize: number
  /** messages to publish, or null to publish until told to stop */
  messageLimit: number | null
  /** max unconfirmed messages; 0 disables publisher confirms */
  confirmWindow: number
  persistent: boolean
  /** msgs/s; 0 = as fast as possible */
  ratePerSecond: number
  counters: SharedArrayBuffer
}

export interface ConsumerConfig {
  role: 'consumer'
  index: number
  url: string
  queue: string
  noAck: boolean
  /** basic.qos prefetch count; 0 = unlimited */
  prefetch: number
  /** ack once per this many deliveries with multiple=true (1 = ack each) */
  multiAck: number
  /** whether bodies carry a send timestamp to measure latency from */
  measureLatency: boolean
  counters: SharedArrayBuffer
  histogram: SharedArrayBuffer
}

export type WorkerConfig = PublisherConfig | ConsumerConfig

/** main → worker */
export type ControlMessage = { type: 'start' } | { type: 'stop' }

/** worker → main */
export type WorkerEvent =
  /** osThreadId lets the main thread read the worker's CPU time from /proc */
  | { type: 'ready'; osThreadId: number | null }
  /** publisher: done publishing and every confirm is in */
  | { type: 'finished' }
  | { type: 'blocked'; reason: string }
  | { type: 'error'; message: string }
