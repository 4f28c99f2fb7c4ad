// One open client connection, from connection.open-ok to the end of its socket: frames dispatched to
// channels, the methods of channel 0, and the close handshakes. Protocol errors thrown anywhere below are
// turned into a channel.close or a connection.close here, in fail(), and nowhere else. The handshake that
// builds it is handshake.ts; heartbeats, output flow control and the reasons not to read the socket are
// heartbeat.ts, output-flow.ts and read-gate.ts. Channels see it only as a ChannelHost (channel-host.ts).
import { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Broker } from '../broker/broker.js'
import type { Message } from '../broker/message.js'
import type { Vhost } from '../broker/vhost.js'
import type { AlarmListener } from '../broker/resource-alarms.js'
import type { User } from '../auth/users.js'
import { ConnectionAccess } from '../auth/access.js'
import {
  AmqpError,
  ChannelError,
  ConnectionError,
  badChannelError,
  connectionForced,
  frameError,
  internalError,
  unexpectedFrame,
  notAllowed,
} from '../protocol/errors.js'
import type { FieldTable } from '../protocol/field-value.js'
import { FrameParser } from '../protocol/frame-parser.js'
import { METHODS, decodeMethod, encodeMethod, type Method, type MethodName } from '../protocol/generated/methods.js'
import { Reader } from '../protocol/reader.js'
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, Writer } from '../protocol/writer.js'
import type { Logger } from '../util/logger.js'
import { Channel } from './channel.js'
import type { ChannelConfig, ChannelHost } from './channel-host.js'
import type { Heartbeat, HeartbeatHost } from './heartbeat.js'
import { OutputFlow, type DrainSource, type FlowWaiter } from './output-flow.js'
import { ReadGate } from './read-gate.js'
import { closingTimeout, endGracefully } from './socket-end.js'

/** basic.publish's class and method ids, as the first 4 bytes of its frame's payload */
const BASIC_PUBLISH_ID = 0x003c_0028

/**
 * Output written in one turn of the event loop is handed to the socket as soon as this much is waiting:
 * the client starts reading while we go on, and the writer's few buffers are free again for what follows.
 */
const FLUSH_AT = 128 * 1024

/** How long we wait for close-ok after sending connection.close. */
const CLOSE_OK_TIMEOUT_MS = 3000

type State = 'running' | 'closing' | 'closed'

export interface ConnectionInfo {
  remoteAddress: string
  remotePort: number
  /** Where the client connected to (the listener's address and port); absent for an in-process stream */
  localAddress?: string
  localPort?: number
}

/** An address as RabbitMQ's rabbit_misc:ntoab writes it: IPv4-mapped IPv6 as IPv4, IPv6 in brackets */
function addressText(address: string): string {
  const v4 = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
  return v4.includes(':') ? `[${v4}]` : v4
}

/** Capabilities the client announced in connection.start-ok that change what we send it. */
export interface ClientCapabilities {
  /** The client handles basic.cancel from the server (consumer_cancel_notify) */
  readonly consumerCancelNotify: boolean
  /** The client handles connection.blocked/unblocked (connection.blocked) */
  readonly blockedNotify: boolean
}

/** What the handshake negotiated: a connection is built with all of it, so it is never half open. */
export interface Negotiated {
  readonly user: User
  readonly vhost: Vhost
  readonly channelMax: number
  readonly frameMax: number
  /** Running since tune-ok */
  readonly heartbeat: Heartbeat
  readonly clientProperties: FieldTable
  readonly capabilities: ClientCapabilities
  /** The SASL mechanism the client logged in with (PLAIN, AMQPLAIN, EXTERNAL) */
  readonly authMechanism: string
}

export class Connection implements ChannelHost, AlarmListener, HeartbeatHost, FlowWaiter {
  private state: State = 'running'
  private readonly parser: FrameParser
  private readonly out = new Writer()
  /** Reads every method frame in turn */
  private readonly reader = new Reader(Buffer.alloc(0))
  private flushScheduled = false
  /**
   * The socket copies what it is given into the kernel (a TCP or TLS socket): once it holds nothing, the
   * writer's buffers may be written over. A stream in the same process may pass our buffers on instead.
   */
  private readonly socketCopies: boolean
  private readonly channels = new Map<number, Channel>()
  private readonly output: OutputFlow
  private readonly gate: ReadGate
  private readonly heartbeat: Heartbeat
  private closeTimer: NodeJS.Timeout | undefined
  private cleanedUp = false
  /** Socket reads and writes (one corked writev each), RabbitMQ's packet counts (recv_cnt, send_cnt) */
  packetsIn = 0
  packetsOut = 0

  readonly user: User
  readonly vhost: Vhost
  /** The user's permissions in the vhost, checked by the channels */
  readonly access: ConnectionAccess
  readonly channelMax: number
  readonly frameMax: number
  readonly clientProperties: FieldTable
  /** The name the client gave its connection (client property connection_name), as RabbitMQ shows it */
  readonly userProvidedName: string | undefined
  readonly consumerCancelNotify: boolean
  private readonly blockedNotify: boolean
  /** The SASL mechanism of the login, and when connection.open-ok was sent (the management API shows both) */
  readonly authMechanism: string
  readonly connectedAt = Date.now()

  constructor(
    private readonly broker: Broker,
    private readonly socket: Duplex,
    readonly info: ConnectionInfo,
    readonly log: Logger,
    negotiated: Negotiated,
    private readonly onClosed: (c: Connection) => void,
  ) {
    this.user = negotiated.user
    this.vhost = negotiated.vhost
    this.access = new ConnectionAccess(broker.permissions, negotiated.user, negotiated.vhost.name)
    this.channelMax = negotiated.channelMax
    this.frameMax = negotiated.frameMax
    this.clientProperties = negotiated.clientProperties
    const named = negotiated.clientProperties['connection_name']
    this.userProvidedName = typeof named === 'string' ? named : undefined
    this.consumerCancelNotify = negotiated.capabilities.consumerCancelNotify
    this.blockedNotify = negotiated.capabilities.blockedNotify
    this.authMechanism = negotiated.authMechanism
    this.heartbeat = negotiated.heartbeat
    this.heartbeat.handOver(this)
    this.socketCopies = socket instanceof Socket
    this.output = new OutputFlow(socket, this.out, broker.config.maxOutputBuffer)
    this.gate = new ReadGate(socket, this.output)
    this.parser = new FrameParser(
      (type, channel, buf, start, end) => this.handleFrame(type, channel, buf, start, end),
      this.frameMax,
    )
    // Like RabbitMQ, a frame may be 8 bytes over frame_max (clients that count only the payload)
    this.parser.maxPayload = this.frameMax
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('drain', () => this.outputDrained())
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'))
    socket.on('close', () => this.cleanup())
    broker.alarms.subscribe(this)
    // Counted against vhost and user limits, and closed when its vhost or user is deleted
    broker.limits.connections.add(this)
    broker.stats.churn.connectionsOpened++
  }

  /** The open channels (the management API lists them) */
  get channelList(): Iterable<Channel> {
    return this.channels.values()
  }

  get openChannels(): number {
    return this.channels.size
  }

  /** Bytes read from and written to the socket, the handshake's included (0 for a stream that is not a socket) */
  get bytesIn(): number {
    return (this.socket as { bytesRead?: number }).bytesRead ?? 0
  }

  get bytesOut(): number {
    return (this.socket as { bytesWritten?: number }).bytesWritten ?? 0
  }

  /** RabbitMQ's connection name: "127.0.0.1:54321 -> 127.0.0.1:5672" (the management API's key for it) */
  get name(): string {
    const { remoteAddress, remotePort, localAddress = '127.0.0.1', localPort = 0 } = this.info
    return `${addressText(remoteAddress)}:${remotePort} -> ${addressText(localAddress)}:${localPort}`
  }

  /** The negotiated heartbeat interval in seconds (0: none) */
  get heartbeatSeconds(): number {
    return this.heartbeat.seconds
  }

  /** The socket itself (a TLS socket knows its cipher and peer certificate), for the management API */
  get transport(): Duplex {
    return this.socket
  }

  get config(): ChannelConfig {
    return this.broker.config
  }

  get backedUp(): boolean {
    return this.output.backedUp
  }

  get bufferedOutput(): number {
    return this.output.buffered
  }

  get outputLimit(): number {
    return this.output.limit
  }

  get isOpen(): boolean {
    return this.state === 'running'
  }

  /** Bytes from the socket, and first those the handshake read after connection.open (pipelined). */
  receive(chunk: Buffer): void {
    this.heartbeat.readSinceTick = true
    this.packetsIn++
    // Something resumed the socket while input is held (e.g. an alarm cleared): read no further
    if (this.output.held) this.socket.pause()
    try {
      this.parser.push(chunk)
    } catch (err) {
      // After the close handshake, garbage changes nothing
      if (this.state !== 'closed') this.fail(err, 0)
    }
  }

  private handleFrame(type: number, channelId: number, buf: Buffer, start: number, end: number): void {
    const held = this.output.held
    if (held) {
      held.push({ type, channel: channelId, payload: buf.subarray(start, end) })
      return
    }
    this.handleFrameNow(type, channelId, buf, start, end)
    // A client that sends but does not read would grow its own output without end: stop reading it
    if (this.state === 'running' && this.output.backedUp) this.gate.holdInput()
  }

  private handleFrameNow(type: number, channelId: number, buf: Buffer, start: number, end: number): void {
    if (this.state === 'closed') return this.afterClose(type, channelId, buf.subarray(start, end))
    let method: MethodName | undefined
    try {
      if (type === FRAME_METHOD) {
        const reader = this.reader
        reader.reset(buf, start, end)
        if (end - start >= 4 && buf.readUInt32BE(start) === BASIC_PUBLISH_ID && this.state === 'running') {
          // The hot path: basic.publish read in place by an open channel (the same checks, in the same order)
          const channel = this.channels.get(channelId)
          if (channel !== undefined && channel.isOpen) {
            channel.publisher.readPublish(reader)
            method = 'basic.publish'
            return channel.publishRead()
          }
        }
        const m = decodeMethod(reader)
        method = m.name
        if (reader.pos !== end) {
          throw frameError(`cannot decode ${m.name}: ${end - reader.pos} bytes after its last argument`)
        }
        if (this.state === 'closing') return this.whileClosing(channelId, m)
        if (channelId === 0) return this.connectionMethod(m)
        return this.channelMethod(channelId, m)
      }
      if (this.state === 'closing') return
      if (type === FRAME_HEARTBEAT) {
        if (channelId !== 0) throw unexpectedFrame(`heartbeat frame on channel ${channelId}`)
        if (end !== start) throw frameError(`heartbeat frame with a ${end - start}-byte payload`)
        return
      }
      if (type === FRAME_HEADER || type === FRAME_BODY) {
        const channel = this.channels.get(channelId)
        if (!channel) throw unexpectedFrame(`content frame on channel ${channelId}, where no content is expected`)
        // Errors found while assembling content belong to the basic.publish they complete
        method = 'basic.publish'
        if (type === FRAME_HEADER) channel.onContentHeader(buf, start, end)
        else channel.onContentBody(buf, start, end)
        return
      }
      throw frameError(`unknown frame type ${type}`)
    } catch (err) {
      this.fail(err, channelId, method)
    }
  }

  /** The one place where errors become closes: soft errors close the channel, the rest the connection. */
  private fail(err: unknown, channelId: number, method?: MethodName): void {
    if (err instanceof AmqpError && method && err.classId === 0 && !err.noMethod) {
      const info = METHODS[method]
      err.classId = info.classId
      err.methodId = info.methodId
    }
    if (err instanceof ChannelError && channelId !== 0 && this.channels.has(channelId)) {
      this.log.info({ channel: channelId, code: err.replyCode, text: err.replyText }, 'channel error')
      this.channels.get(channelId)!.closeWithError(err)
      return
    }
    if (err instanceof ConnectionError || err instanceof ChannelError) {
      this.log.warn({ code: err.replyCode, text: err.replyText }, 'connection error')
      this.closeWithError(err)
      return
    }
    this.log.error({ err }, 'internal error')
    this.closeWithError(internalError(err instanceof Error ? err.message : String(err)))
  }

  private whileClosing(channelId: number, method: Method): void {
    if (channelId !== 0) return
    if (method.name === 'connection.close-ok') this.endGracefully()
    else if (method.name === 'connection.close') this.sendMethod(0, { name: 'connection.close-ok' })
  }

  /**
   * After the close handshake the client may still be sending (other threads of it closing too): its
   * frames are read and dropped, and each further connection.close gets its close-ok, as from RabbitMQ.
   */
  private afterClose(type: number, channelId: number, payload: Buffer): void {
    if (type !== FRAME_METHOD || channelId !== 0) return
    try {
      if (decodeMethod(new Reader(payload)).name === 'connection.close') {
        this.sendMethod(0, { name: 'connection.close-ok' })
      }
    } catch {
      // garbage after the close changes nothing
    }
  }

  private connectionMethod(m: Method): void {
    switch (m.name) {
      case 'connection.close':
        return this.closedByClient()
      case 'connection.close-ok':
        return
      case 'connection.update-secret':
        return this.sendMethod(0, { name: 'connection.update-secret-ok' })
      case 'connection.blocked':
      case 'connection.unblocked':
        return // a client telling us it is blocked changes nothing here
      default:
        // RabbitMQ: a 504 once the connection runs (a method of another class, or a handshake method again)
        throw badChannelError(`unexpected method ${m.name} in connection state running`)
    }
  }

  private channelMethod(id: number, m: Method): void {
    const channel = this.channels.get(id)
    if (m.name === 'channel.open') {
      if (channel) throw badChannelError("second 'channel.open' seen")
      // RabbitMQ limits how many channels are open, not their numbers
      if (this.channels.size >= this.channelMax) {
        const refused = notAllowed(
          `number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`,
        )
        refused.noMethod = true // RabbitMQ's reader refuses it before any channel handles the method: 0/0
        throw refused
      }
      this.broker.limits.checkChannel(this.user.name) // the user's max-channels, over all its connections
      this.channels.set(id, new Channel(id, this))
      this.broker.stats.churn.channelsOpened++
      this.sendMethod(id, { name: 'channel.open-ok' })
      return
    }
    // RabbitMQ's text, word for word (clients match on it)
    if (!channel) throw badChannelError("expected 'channel.open'")
    channel.handleMethod(m)
  }

  channelClosed(id: number): void {
    if (this.channels.delete(id)) this.broker.stats.churn.channelsClosed++
  }

  sendMethod(channel: number, method: Method): void {
    encodeMethod(this.out, channel, method)
    this.scheduleFlush()
  }

  sendContent(channel: number, m: Message): void {
    this.out.contentHeader(channel, 60, m.body.length, m.propertiesRaw)
    if (m.body.length > 0) this.out.body(channel, m.body, this.frameMax - 8)
    this.scheduleFlush()
  }

  sendDelivery(channel: number, prefix: Buffer, deliveryTag: number, redelivered: boolean, m: Message): void {
    this.out.delivery(
      channel,
      prefix,
      deliveryTag,
      redelivered,
      m.exchange,
      m.exchangeWire,
      m.routingKey,
      m.routingKeyWire,
      m.propertiesRaw,
      m.body,
      this.frameMax - 8,
    )
    if (this.out.pending >= FLUSH_AT) this.writeOut()
    this.scheduleFlush()
  }

  private scheduleFlush(): void {
    this.heartbeat.wroteSinceTick = true
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => this.flush())
  }

  /** Hands everything written since the last flush to the socket in one corked batch (one writev). */
  private flush(): void {
    this.flushScheduled = false
    this.writeOut()
  }

  private writeOut(): void {
    const chunks = this.out.take()
    if (chunks.length === 0 || this.socket.destroyed || !this.socket.writable) return
    this.packetsOut++
    this.socket.cork()
    for (const chunk of chunks) this.socket.write(chunk)
    this.socket.uncork()
    // All of it went into the kernel at once (the usual case): the writer's buffers are free again
    if (this.socketCopies && this.socket.writableLength === 0) this.out.release()
  }

  /** The socket took everything written: held input is handled again, consumers and repliers go on. */
  private outputDrained(): void {
    if (this.socketCopies && this.socket.writableLength === 0) this.out.release()
    const held = this.output.takeHeld()
    if (held) {
      for (let i = 0; i < held.length; i++) {
        const f = held[i]!
        this.handleFrame(f.type, f.channel, f.payload, 0, f.payload.length)
        const heldAgain = this.output.held
        if (heldAgain) {
          // Backed up again: the rest waits for the next drain, still in order
          for (let j = i + 1; j < held.length; j++) heldAgain.push(held[j]!)
          break
        }
      }
      if (!this.output.held) this.gate.resume()
    }
    if (this.output.backedUp) return
    for (const channel of this.channels.values()) channel.wakeConsumers()
    this.output.releaseWaiters()
  }

  /** Flow control for direct reply-to: a publisher replying to this connection waits for it to drain. */
  waitUntilDrained(waiter: FlowWaiter): void {
    this.output.waitUntilDrained(waiter)
  }

  /**
   * The client sent connection.close: its channels go, close-ok goes out, and the socket stays open until
   * the client closes it (or the closing timeout). Ending it ourselves at once would race the client's other
   * threads: one still waiting for its own close-ok would read EOF instead (amqp091-go does).
   */
  private closedByClient(): void {
    this.releaseChannels()
    this.sendMethod(0, { name: 'connection.close-ok' })
    this.flush()
    this.state = 'closed'
    this.heartbeat.stop()
    this.gate.readToEnd()
    this.closeTimer = setTimeout(() => this.endGracefully(), closingTimeout(this.heartbeat.seconds))
  }

  /** Ends our side once everything queued is written, reading on until the client closes (socket-end.ts). */
  private endGracefully(): void {
    if (this.cleanedUp) return
    this.state = 'closed'
    this.output.takeHeld()
    this.flush()
    this.gate.readToEnd()
    clearTimeout(this.closeTimer)
    this.closeTimer = endGracefully(this.socket)
  }

  /** Closes the connection with an error: connection.close, then discard frames until close-ok. */
  closeWithError(err: AmqpError): void {
    if (this.state !== 'running') return
    this.state = 'closing'
    this.sendMethod(0, {
      name: 'connection.close',
      replyCode: err.replyCode,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    })
    this.flush()
    // Read on (a blocked client too): its close-ok must reach us, and unread input must not reset the socket
    const held = this.output.takeHeld()
    if (held) for (const f of held) this.handleFrameNow(f.type, f.channel, f.payload, 0, f.payload.length)
    this.gate.readToEnd()
    this.closeTimer = setTimeout(() => this.endGracefully(), CLOSE_OK_TIMEOUT_MS)
    this.releaseChannels()
  }

  /** Broker shutdown: connection.close 320 CONNECTION_FORCED, as RabbitMQ does. */
  forceClose(reason: string): void {
    if (this.state === 'running') {
      this.closeWithError(connectionForced(`broker forced connection closure with reason '${reason}'`))
    } else this.endGracefully()
  }

  /**
   * A channel saw basic.publish. Under a resource alarm the connection is blocked, as RabbitMQ blocks a
   * connection when a publish reaches it while an alarm is set: a connection that only consumes and acks
   * is never blocked, whatever it published before the alarm.
   */
  notePublish(): void {
    if (this.broker.alarms.active && !this.gate.blocked && this.state === 'running') {
      this.gate.block()
      const reason = this.broker.alarms.reason
      if (this.blockedNotify) this.sendMethod(0, { name: 'connection.blocked', reason })
      this.log.debug({ reason }, 'publishing connection blocked by a resource alarm')
    }
  }

  /** Every alarm has cleared: a blocked connection is read again. */
  alarmChanged(active: boolean): void {
    if (active || !this.gate.blocked) return
    this.gate.unblock()
    if (this.blockedNotify) this.sendMethod(0, { name: 'connection.unblocked' })
    this.log.debug('resource alarms cleared: connection unblocked')
  }

  /**
   * Flow control: a publisher whose messages pile up in a queue that consumers are draining stops being
   * read until the queue is back under its low mark, or for a moment at most (read-gate.ts), so that
   * publishing settles at the pace of the consumers instead of growing the queue (and latency) without end.
   * Connections that consume too are never throttled: their acks must keep flowing.
   */
  throttleFor(queue: DrainSource): void {
    if (this.hasConsumers()) return
    this.throttleUntilDrained(queue)
  }

  /**
   * Flow control for a direct reply to a connection whose output is backed up: this publisher is not read
   * until that connection drains, or for a moment at most, even if it consumes (a replier usually does):
   * one client that does not read its replies must not stall the replier for everyone else.
   */
  throttleForReply(requester: DrainSource): void {
    if (requester !== this) this.throttleUntilDrained(requester)
  }

  private throttleUntilDrained(source: DrainSource): void {
    if (this.state === 'running') this.gate.throttleUntilDrained(source)
  }

  flowResume(): void {
    this.gate.flowResume()
  }

  private hasConsumers(): boolean {
    for (const channel of this.channels.values()) if (channel.hasConsumers) return true
    return false
  }

  sendHeartbeat(): void {
    this.out.heartbeat()
    this.flush()
  }

  get readingPaused(): boolean {
    return this.gate.paused
  }

  heartbeatMissed(): void {
    const timeout = this.heartbeat.seconds
    this.log.warn({ timeout }, `missed heartbeats from client, timeout: ${timeout}s`)
    this.socket.destroy()
  }

  private releaseChannels(): void {
    for (const channel of this.channels.values()) channel.release()
    this.broker.stats.churn.channelsClosed += this.channels.size
    this.channels.clear()
    this.vhost.dropExclusiveQueues(this)
  }

  private cleanup(): void {
    if (this.cleanedUp) return
    this.cleanedUp = true
    this.state = 'closed'
    this.heartbeat.stop()
    this.gate.stop()
    clearTimeout(this.closeTimer)
    this.output.takeHeld()
    this.output.releaseWaiters()
    this.broker.alarms.unsubscribe(this)
    this.broker.limits.connections.delete(this)
    this.broker.stats.churn.connectionsClosed++
    const traffic = this.vhost.stats.closedConnections
    traffic.bytesIn += this.bytesIn
    traffic.bytesOut += this.bytesOut
    this.releaseChannels()
    this.log.debug('connection closed')
    this.onClosed(this)
  }
}
