import type { ChannelModel } from 'amqplib'

/** The parts of amqplib's internals (lib/connection.js, lib/mux.js) we reach into. */
interface AmqplibInternals {
  connection?: {
    stream?: { cork?: () => void; uncork?: () => void }
    muxer?: { _readIncoming?: () => void }
  }
}

/**
 * amqplib's muxer hands every frame to the socket with its own write(),
 * and with TCP_NODELAY each one costs a syscall: the profile of a
 * publisher showed half its time there. Corking the socket for the length
 * of one muxer pass turns that pass into a single writev. Best effort: if
 * amqplib's internals change shape, it leaves the connection alone.
 * Returns whether batching is on.
 */
export function batchSocketWrites(model: ChannelModel): boolean {
  const connection = (model as unknown as AmqplibInternals).connection
  const socket = connection?.stream
  const muxer = connection?.muxer
  const flush = muxer?._readIncoming
  if (!socket?.cork || !socket.uncork || !muxer || typeof flush !== 'function') return false
  muxer._readIncoming = function flushCorked(this: unknown): void {
    socket.cork!()
    try {
      flush.call(this)
    } finally {
      socket.uncork!()
    }
  }
  return true
}
