// The clients of one listener: each accepted socket runs its handshake (handshake.ts), and becomes a
// Connection at connection.open-ok. Stopping the broker ends both: open connections get 320
// CONNECTION_FORCED, handshakes under way are cut (or, if already closing, end gracefully).
import type { Duplex } from 'node:stream'
import type { Broker } from '../broker/broker.js'
import type { Connection, ConnectionInfo } from './connection.js'
import { Handshake } from './handshake.js'

export class Clients {
  /** The connections open now (past their handshake) */
  readonly connections = new Set<Connection>()
  private readonly handshakes = new Set<Handshake>()

  constructor(private readonly broker: Broker) {}

  /** A new client socket: its handshake runs until connection.open-ok or the end of the socket. */
  accept(socket: Duplex, info: ConnectionInfo): void {
    const handshake = new Handshake(this.broker, socket, info, {
      opened: (c) => {
        this.handshakes.delete(handshake)
        this.connections.add(c)
      },
      closed: (c) => this.connections.delete(c),
    })
    this.handshakes.add(handshake)
    socket.once('close', () => this.handshakes.delete(handshake))
    void handshake.run()
  }

  /** Broker shutdown. */
  closeAll(reason: string): void {
    for (const c of this.connections) c.forceClose(reason)
    for (const h of this.handshakes) h.abort()
  }
}
