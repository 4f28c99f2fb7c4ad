// What the management API's handlers work on: the broker, the open connections, and the request's user.
import type { Duplex } from 'node:stream'
import type { Broker } from '../../broker/broker.js'
import type { ChannelCounters } from '../../broker/stats.js'
import type { Vhost } from '../../broker/vhost.js'
import type { AmqpError } from '../../protocol/errors.js'
import type { FieldTable } from '../../protocol/field-value.js'
import { AmqpError as AmqpErrorClass } from '../../protocol/errors.js'
import type { Access } from './auth.js'
import { HttpError, badRequest, notAuthorised, notFoundError, type Reply, type Request } from './http.js'

/** What the API needs of an AMQP connection (server/connection.ts's Connection is one) */
export interface ManagedConnection {
  readonly name: string
  readonly info: {
    readonly remoteAddress: string
    readonly remotePort: number
    readonly localAddress?: string
    readonly localPort?: number
  }
  readonly user: { readonly name: string }
  readonly vhost: { readonly name: string }
  readonly channelMax: number
  readonly frameMax: number
  readonly clientProperties: FieldTable
  readonly userProvidedName: string | undefined
  readonly openChannels: number
  readonly channelList: Iterable<ManagedChannel>
  /** Bytes read and written (recv_oct, send_oct), socket reads and corked writes (recv_cnt, send_cnt) */
  readonly bytesIn: number
  readonly bytesOut: number
  readonly packetsIn: number
  readonly packetsOut: number
  /** Output not yet taken by the socket (send_pend) */
  readonly bufferedOutput: number
  /** ms since the epoch of connection.open-ok */
  readonly connectedAt: number
  readonly authMechanism: string
  readonly heartbeatSeconds: number
  /** The socket: a tls.TLSSocket tells its protocol, cipher and the peer's certificate */
  readonly transport: Duplex
  closeWithError(err: AmqpError): void
}

/** What the API lists of a channel (server/channel.ts's Channel is one) */
export interface ManagedChannel {
  readonly id: number
  readonly unackedCount: number
  readonly globalPrefetch: number
  readonly prefetchCount: number
  readonly inTx: boolean
  readonly confirming: boolean
  readonly consumerList: Iterable<ManagedConsumer>
  /** Its message_stats */
  readonly stats: ChannelCounters
  /** Acks, nacks and rejects in the open transaction */
  readonly uncommittedAcks: number
  readonly publisher: { readonly unconfirmed: number; readonly uncommitted: number }
}

export interface ManagedConsumer {
  readonly tag: string
  readonly queue: {
    readonly name: string
    readonly vhost: string
    readonly settings: { readonly singleActiveConsumer: boolean }
    /** The active consumer of a single-active-consumer queue */
    readonly activeConsumer: unknown
  }
  readonly noAck: boolean
  /** Whether it could take a message now (credit, prefetch, the connection's output) */
  canTake(): boolean
  readonly exclusive: boolean
  readonly prefetch: number
  readonly priority: number
}

export interface ApiContext {
  readonly broker: Broker
  connections(): Iterable<ManagedConnection>
  /** Where the API listens, for /api/overview's listeners */
  readonly listener: () => { host: string; port: number }
  /** The AMQP listener's port, for the same */
  readonly amqpPort: number
}

export type ApiHandler = (ctx: ApiContext, access: Access, req: Request) => Reply | Promise<Reply>

/** The vhost a path names: 404 if there is none */
export function vhostOf(ctx: ApiContext, name: string | undefined): Vhost {
  const vhost = name === undefined ? undefined : ctx.broker.vhosts.get(name)
  if (!vhost) throw notFoundError()
  return vhost
}

/**
 * Runs a broker operation and answers its refusal as RabbitMQ's API does: 403 ACCESS_REFUSED as 401
 * "Access refused.", 404 as the not-found body, any other AMQP error as 400 bad_request with its text
 * (without the code's name, as rabbit_mgmt_util:bad_request gives it), other errors as 400 with their message.
 */
export function operation<T>(what: () => T): T {
  try {
    return what()
  } catch (err) {
    throw httpErrorOf(err)
  }
}

export function httpErrorOf(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  if (err instanceof AmqpErrorClass) {
    if (err.replyCode === 403) return notAuthorised('Access refused.')
    if (err.replyCode === 404) return notFoundError()
    return badRequest(err.detail)
  }
  return badRequest(err instanceof Error ? err.message : String(err))
}

/** Declarations made through the API belong to no connection */
export const API_OWNER = {}

/** RabbitMQ's API names the default exchange amq.default in paths */
export const exchangeName = (name: string): string => (name === 'amq.default' ? '' : name)
