import type { Channel, ChannelModel } from 'amqplib'

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
