import { connect, type Channel, type ChannelModel } from 'amqplib'
import { batchSocketWrites } from './socket-batching.js'

/**
 * Ends the worker thread with `error`; the main thread receives it as the
 * Worker's 'error' event. Thrown from a fresh stack because amqplib catches
 * exceptions raised inside its own frame handling.
 */
export function failWorker(error: Error): void {
  setImmediate(() => {
    throw error
  })
}

/**
 * A worker's own connection: Nagle off and frames batched into one socket
 * write (the load must not wait on the tool), named as the broker's UI
 * shows it, e.g. `warren-bench consumer 1`.
 */
export async function connectWorker(url: string, name: string): Promise<ChannelModel> {
  const model = await connect(url, { noDelay: true, clientProperties: { connection_name: `warren-bench ${name}` } })
  batchSocketWrites(model)
  return model
}

export interface WatchedConnection {
  /** Closes the connection without it counting as a failure. */
  close(): Promise<void>
}

/** Makes an unexpected loss of the connection or of `channel` fatal to the worker. */
export function watchConnection(model: ChannelModel, channel: Channel): WatchedConnection {
  let closing = false
  let lastError: Error | undefined
  model.on('error', (error: Error) => {
    lastError = error
  })
  model.on('close', () => {
    if (!closing) failWorker(new Error(`connection closed${lastError ? `: ${lastError.message}` : ''}`))
  })
  channel.on('error', (error: Error) => {
    if (!closing) failWorker(error)
  })
  return {
    async close() {
      closing = true
      // amqplib keeps a write buffer per channel and interleaves them, so a
      // connection.close could overtake publishes still queued on the channel;
      // channel.close travels behind them and its close-ok proves they arrived
      await channel.close()
      await model.close()
    },
  }
}
