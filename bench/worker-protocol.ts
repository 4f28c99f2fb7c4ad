/** What the main thread hands each worker, and the messages they exchange. */
import type { ReplyStyle } from './options.js'

/** What every worker that publishes to the run's queue is told alike: publishers and RPC clients. */
export interface SenderConfig {
  index: number
  url: string
  exchange: string
  routingKey: string
  bodySize: number
  persistent: boolean
}

/** What every worker that consumes the run's queue is told alike: consumers and RPC servers. */
export interface ReceiverConfig {
  index: number
  url: string
  queue: string
  noAck: boolean
  /** basic.qos prefetch count; 0 = unlimited */
  prefetch: number
}

export interface PublisherConfig extends SenderConfig {
  role: 'publisher'
  /** messages to publish, or null to publish until told to stop */
  messageLimit: number | null
  /** max unconfirmed messages; 0 disables publisher confirms */
  confirmWindow: number
  /** msgs/s; 0 = as fast as possible */
  ratePerSecond: number
  counters: SharedArrayBuffer
}

export interface ConsumerConfig extends ReceiverConfig {
  role: 'consumer'
  /** ack once per this many deliveries with multiple=true (1 = ack each) */
  multiAck: number
  /** whether bodies carry a send timestamp to measure latency from */
  measureLatency: boolean
  counters: SharedArrayBuffer
  histogram: SharedArrayBuffer
}

/** RPC server: consumes requests and publishes each body back to its reply_to. */
export interface RpcServerConfig extends ReceiverConfig {
  role: 'rpc-server'
  counters: SharedArrayBuffer
}

/** RPC client: keeps `inflight` requests outstanding and times each round trip. */
export interface RpcClientConfig extends SenderConfig {
  role: 'rpc-client'
  /** requests to make, or null to go on until told to stop */
  requestLimit: number | null
  inflight: number
  replyStyle: ReplyStyle
  counters: SharedArrayBuffer
  histogram: SharedArrayBuffer
}

export type WorkerConfig = PublisherConfig | ConsumerConfig | RpcServerConfig | RpcClientConfig

/**
 * main → worker. An RPC client takes 'stop' as "send no more requests,
 * finish once the outstanding ones are answered" and 'close' as "disconnect
 * now"; every other worker closes on either.
 */
export type ControlMessage = { type: 'start' } | { type: 'stop' } | { type: 'close' }

/** worker → main */
export type WorkerEvent =
  /** osThreadId lets the main thread read the worker's CPU time from /proc */
  | { type: 'ready'; osThreadId: number | null }
  /** publisher: done publishing and every confirm is in; RPC client: every request answered */
  | { type: 'finished' }
  | { type: 'blocked'; reason: string }
  | { type: 'error'; message: string }
