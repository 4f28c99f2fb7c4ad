// How Warren ends a client's socket, in the handshake and after it: never by destroying it with input
// unread while our last frames (a close-ok) are in flight, since the kernel would then answer with a reset
// that can destroy those frames before the client reads them.
import type { Duplex } from 'node:stream'

/** RabbitMQ's CLOSING_TIMEOUT: after close-ok, how long the client has to close its socket first. */
export const CLOSING_TIMEOUT_MS = 30_000
/** After our FIN, how long we keep reading before giving up on the client's. */
const LINGER_MS = 5000

/**
 * Ends our side (FIN after everything queued) and keeps reading and dropping whatever the client still
 * sends until it closes too, or LINGER_MS. Returns the timer that destroys the socket then.
 */
export function endGracefully(socket: Duplex): NodeJS.Timeout {
  socket.resume()
  socket.end()
  return setTimeout(() => socket.destroy(), LINGER_MS)
}

/** After the client's connection.close: how long we wait for it to close the socket (RabbitMQ's rule). */
export function closingTimeout(heartbeatSeconds: number): number {
  return heartbeatSeconds > 0 ? Math.min(heartbeatSeconds * 1000, CLOSING_TIMEOUT_MS) : CLOSING_TIMEOUT_MS
}
