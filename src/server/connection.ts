// One client connection: the protocol header, the handshake (start, tune, open), then frames dispatched to
// channels, heartbeats, and the close handshakes. Protocol errors thrown anywhere below are turned into a
// channel.close or a connection.close here, in handleFrame, and nowhere else.
import type { Duplex } from 'node:stream'
import type { Broker } from '../broker/broker.js'
import type { Vhost } from '../broker/vhost.js'
import type { AlarmListener } from '../broker/resource-alarms.js'
import {
  AmqpError,
  ChannelError,
  ConnectionError,
  badChannelError,
  commandInvalid,
  frameError,
  internalError,
  unexpectedFrame,
  notAllowed,
} from '../protocol/errors.js'
import type { FieldTable } from '../protocol/field-value.js'
import { FrameParser } from '../protocol/frame-parser.js'
import { ReplyCode, FRAME_MIN_SIZE } from '../protocol/generated/constants.js'
import { METHODS, decodeMethod, encodeMethod, type Method, type MethodName } from '../protocol/generated/methods.js'
import { Reader } from '../protocol/reader.js'
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, Writer } from '../protocol/writer.js'
import type { Logger } from '../util/logger.js'
import type { User } from '../auth/users.js'
import { Channel } from './channel.js'
import { MECHANISMS, parseCredentials } from './sasl.js'
import { serverProperties } from './server-properties.js'

const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')
/** How long we wait for close-ok after sending connection.close. */
const CLOSE_OK_TIMEOUT_MS = 3000
/** RabbitMQ's SILENT_CLOSE_DELAY: a client whose handshake fails waits this long for its socket to close. */
const SILENT_CLOSE_DELAY_MS = 3000
/** RabbitMQ's CLOSING_TIMEOUT: after close-ok, how long the client has to close its socket first. */
const CLOSING_TIMEOUT_MS = 30_000
/** After our FIN, how long we keep reading before giving up on the client's. */
const LINGER_MS = 5000
/** The longest a publisher is left unread by flow control before it is read again (and checked again). */
const THROTTLE_MAX_MS = 250

/** What flow control needs from a queue. */
export interface FlowQueue {
  waitUntilDrained(waiter: { flowResume(): void }): void
}

/** A frame read while the connection's output is backed up, handled once it drains. */
interface HeldFrame {
  type: number
  channel: number
  payload: Buffer
}

type State = 'header' | 'start' | 'tune' | 'open' | 'running' | 'closing' | 'closed'

export interface ConnectionInfo {
  remoteAddress: string
  remotePort: number
}

export class Connection implements AlarmListener {
  private state: State = 'header'
  private headerBytes = Buffer.alloc(0)
  private readonly parser: FrameParser
  readonly out = new Writer()
  private flushScheduled = false
  private readonly channels = new Map<number, Channel>()
  private heartbeatTimer: NodeJS.Timeout | undefined
  private handshakeTimer: NodeJS.Timeout | undefined
  private closeTimer: NodeJS.Timeout | undefined
  private readSinceTick = false
  private wroteSinceTick = false
  private silentTicks = 0
  private cleanedUp = false
  readonly log: Logger

  user: User | undefined
  vhost: Vhost | undefined
  clientProperties: FieldTable = {}
  channelMax: number
  frameMax: number
  heartbeat = 0
  /** The client handles basic.cancel from the server (capability consumer_cancel_notify) */
  consumerCancelNotify = false
  /** The client handles connection.blocked/unblocked (capability connection.blocked) */
  private blockedNotify = false
  /** The client wants connection.close 403 for a refused login, not a silent close */
  private authFailureClose = false
  /** Closed before the handshake finished: nothing the client sends is answered */
  private ignoreInput = false
  /** The credentials were wrong (not a malformed response or an unknown mechanism) */
  private loginRefused = false
  /** Not reading from the socket because of a resource alarm */
  private blocked = false
  /** Not reading from the socket for a moment because a queue it publishes to is backlogged */
  private throttled = false
  private throttleTimer: NodeJS.Timeout | undefined
  /** Bytes of output buffered above which this connection gets no more content and is not read */
  readonly outputLimit: number
  /** Input frames not handled while our output is backed up, in order (at most one socket read's worth) */
  private held: HeldFrame[] | undefined
  /** Publishers throttled until this connection's output drains (direct reply-to) */
  private drainWaiters: Set<{ flowResume(): void }> | undefined

  constructor(
    readonly broker: Broker,
    private readonly socket: Duplex,
    readonly info: ConnectionInfo,
    private readonly onClosed: (c: Connection) => void,
  ) {
    this.log = broker.log.child({ client: `${info.remoteAddress}:${info.remotePort}` })
    this.channelMax = broker.config.channelMax
    this.frameMax = broker.config.frameMax
    // Never below the socket's own high-water mark, so that being over the limit always ends in a 'drain'
    this.outputLimit = Math.max(broker.config.maxOutputBuffer, socket.writableHighWaterMark)
    this.parser = new FrameParser((type, channel, payload) => this.handleFrame(type, channel, payload), this.frameMax)
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.outputDrained())
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'))
    socket.on('close', () => this.cleanup())
    this.handshakeTimer = setTimeout(() => {
      this.log.warn({ timeout: broker.config.handshakeTimeout }, 'handshake timed out')
      this.socket.destroy()
    }, broker.config.handshakeTimeout)
  }

  get name(): string {
    return `${this.info.remoteAddress}:${this.info.remotePort}`
  }

  /** Too much output is waiting: no more content goes out, and the client is not read, until it drains. */
  get backedUp(): boolean {
    return this.bufferedOutput > this.outputLimit
  }

  /** Bytes written for this client and not yet taken by the kernel. */
  get bufferedOutput(): number {
    return this.socket.writableLength + this.out.pending
  }

  get isOpen(): boolean {
    return this.state === 'running'
  }

  private onData(chunk: Buffer): void {
    this.readSinceTick = true
    // Something resumed the socket while input is held (e.g. an alarm cleared): read no further
    if (this.held) this.socket.pause()
    if (this.ignoreInput) return
    try {
      if (this.state === 'header') {
        chunk = this.readProtocolHeader(chunk)
        if (chunk.length === 0) return
      }
      this.parser.push(chunk)
    } catch (err) {
      // After the close handshake, garbage changes nothing
      if (this.state !== 'closed') this.fail(err, 0)
    }
  }

  /** Checks the 8-byte protocol header; returns whatever follows it. */
  private readProtocolHeader(chunk: Buffer): Buffer {
    const need = 8 - this.headerBytes.length
    this.headerBytes = Buffer.concat([this.headerBytes, chunk.subarray(0, need)])
    if (this.headerBytes.length < 8) return Buffer.alloc(0)
    if (!this.headerBytes.equals(PROTOCOL_HEADER)) {
      // The spec's answer to an unsupported protocol: our header, then close
      this.log.info({ header: this.headerBytes.toString('hex') }, 'unsupported protocol header')
      this.state = 'closed'
      this.ignoreInput = true
      this.socket.end(PROTOCOL_HEADER)
      return Buffer.alloc(0)
    }
    this.state = 'start'
    this.send(0, {
      name: 'connection.start',
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(),
      mechanisms: MECHANISMS,
      locales: 'en_US',
    })
    return chunk.subarray(need)
  }

  private handleFrame(type: number, channelId: number, payload: Buffer): void {
    if (this.held) {
      this.held.push({ type, channel: channelId, payload })
      return
    }
    this.handleFrameNow(type, channelId, payload)
    // A client that sends but does not read would grow its own output without end: stop reading it
    if (this.state === 'running' && this.backedUp) this.holdInput()
  }

  private handleFrameNow(type: number, channelId: number, payload: Buffer): void {
    if (this.state === 'closed') return this.afterClose(type, channelId, payload)
    let method: MethodName | undefined
    try {
      if (type === FRAME_METHOD) {
        const reader = new Reader(payload)
        const m = decodeMethod(reader)
        method = m.name
        if (reader.pos !== payload.length) {
          throw frameError(`cannot decode ${m.name}: ${payload.length - reader.pos} bytes after its last argument`)
        }
        if (this.state === 'closing') return this.whileClosing(channelId, m)
        if (channelId === 0) return this.connectionMethod(m)
        if (this.state !== 'running') throw commandInvalid(`channel ${channelId} used before connection.open`)
        return this.channelMethod(channelId, m)
      }
      if (this.state === 'closing') return
      if (type === FRAME_HEARTBEAT) {
        if (channelId !== 0) throw unexpectedFrame(`heartbeat frame on channel ${channelId}`)
        if (payload.length !== 0) throw frameError(`heartbeat frame with a ${payload.length}-byte payload`)
        return
      }
      if (type === FRAME_HEADER || type === FRAME_BODY) {
        const channel = this.state === 'running' ? this.channels.get(channelId) : undefined
        if (!channel) throw unexpectedFrame(`content frame on channel ${channelId}, where no content is expected`)
        // Errors found while assembling content belong to the basic.publish they complete
        method = 'basic.publish'
        if (type === FRAME_HEADER) channel.onContentHeader(payload)
        else channel.onContentBody(payload)
        return
      }
      throw frameError(`unknown frame type ${type}`)
    } catch (err) {
      this.fail(err, channelId, method)
    }
  }

  /** The one place where errors become closes: soft errors close the channel, the rest the connection. */
  private fail(err: unknown, channelId: number, method?: MethodName): void {
    if (this.state === 'start' || this.state === 'tune') return this.handshakeFailed(err)
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

  /**
   * Like RabbitMQ, a handshake that fails before connection.open gets no explanation: the socket is closed
   * after SILENT_CLOSE_DELAY_MS (which also slows down password guessing). The one exception is a refused
   * login from a client that announced the capability authentication_failure_close: it gets 403.
   */
  private handshakeFailed(err: unknown): void {
    if (this.loginRefused && this.authFailureClose && err instanceof AmqpError) return this.closeWithError(err)
    if (err instanceof AmqpError) {
      this.log.warn({ code: err.replyCode, text: err.replyText, state: this.state }, 'handshake failed')
    } else this.log.error({ err }, 'internal error during the handshake')
    this.state = 'closed'
    this.ignoreInput = true
    this.held = undefined
    clearTimeout(this.handshakeTimer)
    this.closeTimer = setTimeout(() => this.endGracefully(), SILENT_CLOSE_DELAY_MS)
  }

  private whileClosing(channelId: number, method: Method): void {
    if (channelId !== 0) return
    if (method.name === 'connection.close-ok') this.endGracefully()
    else if (method.name === 'connection.close') this.send(0, { name: 'connection.close-ok' })
  }

  /**
   * After the close handshake the client may still be sending (other threads of it closing too): its
   * frames are read and dropped, and each further connection.close gets its close-ok, as from RabbitMQ.
   */
  private afterClose(type: number, channelId: number, payload: Buffer): void {
    if (this.ignoreInput || type !== FRAME_METHOD || channelId !== 0) return
    try {
      if (decodeMethod(new Reader(payload)).name === 'connection.close') this.send(0, { name: 'connection.close-ok' })
    } catch {
      // garbage after the close changes nothing
    }
  }

  private connectionMethod(m: Method): void {
    switch (m.name) {
      case 'connection.start-ok':
        return this.onStartOk(m.mechanism, Buffer.from(m.response), m.clientProperties)
      case 'connection.tune-ok':
        return this.onTuneOk(m.channelMax, m.frameMax, m.heartbeat)
      case 'connection.open':
        return this.onOpen(m.virtualHost)
      case 'connection.close':
        return this.closedByClient()
      case 'connection.close-ok':
        return
      case 'connection.update-secret':
        this.expectState('running', m.name)
        return this.send(0, { name: 'connection.update-secret-ok' })
      case 'connection.blocked':
      case 'connection.unblocked':
        return // a client telling us it is blocked changes nothing here
      default:
        throw this.unexpectedOnChannel0(m.name)
    }
  }

  private expectState(state: State, method: string): void {
    if (this.state !== state) throw this.unexpectedOnChannel0(method)
  }

  /** RabbitMQ: a 504 once the connection runs (a method of another class, or a handshake method again). */
  private unexpectedOnChannel0(method: string): ConnectionError {
    const detail = `unexpected method ${method} in connection state ${this.state}`
    return this.state === 'running' ? badChannelError(detail) : commandInvalid(detail)
  }

  private onStartOk(mechanism: string, response: Buffer, clientProperties: FieldTable): void {
    this.expectState('start', 'connection.start-ok')
    this.clientProperties = clientProperties
    const caps = clientProperties['capabilities']
    if (caps !== null && typeof caps === 'object' && !Array.isArray(caps) && !Buffer.isBuffer(caps)) {
      this.consumerCancelNotify = (caps as FieldTable)['consumer_cancel_notify'] === true
      this.blockedNotify = (caps as FieldTable)['connection.blocked'] === true
      this.authFailureClose = (caps as FieldTable)['authentication_failure_close'] === true
    }
    const credentials = parseCredentials(mechanism, response)
    if (!credentials) {
      if (!MECHANISMS.split(' ').includes(mechanism)) {
        throw new ConnectionError(
          ReplyCode.ACCESS_REFUSED,
          `unsupported authentication mechanism '${mechanism}', use one of ${MECHANISMS}`,
        )
      }
      throw new ConnectionError(ReplyCode.ACCESS_REFUSED, `malformed ${mechanism} response`)
    }
    const loopback = isLoopback(this.info.remoteAddress)
    const result = this.broker.users.authenticate(credentials.username, credentials.password, loopback)
    if (!result.ok) {
      this.log.warn({ user: credentials.username, reason: result.reason }, 'login refused')
      const refused = new ConnectionError(
        ReplyCode.ACCESS_REFUSED,
        `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
      )
      refused.noMethod = true // RabbitMQ names no method (0/0) in a login refusal
      this.loginRefused = true
      throw refused
    }
    this.user = result.user
    this.state = 'tune'
    this.send(0, {
      name: 'connection.tune',
      channelMax: this.channelMax,
      frameMax: this.frameMax,
      heartbeat: this.broker.config.heartbeat,
    })
  }

  private onTuneOk(channelMax: number, frameMax: number, heartbeat: number): void {
    this.expectState('tune', 'connection.tune-ok')
    const serverFrameMax = this.broker.config.frameMax
    if (channelMax > this.channelMax) throw notAllowed(`channel_max=${channelMax} > ${this.channelMax} max size`)
    if (frameMax !== 0 && frameMax < FRAME_MIN_SIZE)
      throw notAllowed(`frame_max=${frameMax} < ${FRAME_MIN_SIZE} min size`)
    if (frameMax > serverFrameMax) throw notAllowed(`frame_max=${frameMax} > ${serverFrameMax} max size`)
    if (channelMax !== 0) this.channelMax = channelMax
    this.frameMax = frameMax === 0 ? serverFrameMax : frameMax
    // Like RabbitMQ, a frame may be 8 bytes over frame_max (clients that count only the payload)
    this.parser.maxPayload = this.frameMax
    this.heartbeat = heartbeat
    this.state = 'open'
    this.startHeartbeat()
  }

  private onOpen(vhostName: string): void {
    this.expectState('open', 'connection.open')
    const vhost = this.broker.vhosts.get(vhostName)
    if (!vhost) throw notAllowed(`vhost ${vhostName} not found`)
    this.vhost = vhost
    this.state = 'running'
    clearTimeout(this.handshakeTimer)
    this.send(0, { name: 'connection.open-ok' })
    this.broker.alarms.subscribe(this)
    this.log.info({ user: this.user?.name, vhost: vhostName }, 'connection opened')
  }

  private channelMethod(id: number, m: Method): void {
    const channel = this.channels.get(id)
    if (m.name === 'channel.open') {
      if (channel) throw badChannelError("second 'channel.open' seen")
      // RabbitMQ limits how many channels are open, not their numbers
      if (this.channels.size >= this.channelMax) {
        throw notAllowed(
          `number of channels opened (${this.channels.size}) has reached the negotiated channel_max (${this.channelMax})`,
        )
      }
      this.channels.set(id, new Channel(id, this))
      this.send(id, { name: 'channel.open-ok' })
      return
    }
    if (!channel) throw badChannelError(`expected 'channel.open' on channel ${id}, got '${m.name}'`)
    channel.handleMethod(m)
  }

  /** Called by a channel once its close handshake is done. */
  channelClosed(id: number): void {
    this.channels.delete(id)
  }

  send(channel: number, method: Method): void {
    encodeMethod(this.out, channel, method)
    this.scheduleFlush()
  }

  scheduleFlush(): void {
    this.wroteSinceTick = true
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(() => this.flush())
  }

  /** Hands everything written since the last flush to the socket in one corked batch (one writev). */
  flush(): void {
    this.flushScheduled = false
    const chunks = this.out.take()
    if (chunks.length === 0 || this.socket.destroyed || !this.socket.writable) return
    this.socket.cork()
    for (const chunk of chunks) this.socket.write(chunk)
    this.socket.uncork()
  }

  /** Stops reading the client until its output drains (see handleFrame). */
  private holdInput(): void {
    this.held = []
    this.socket.pause()
  }

  /** The socket took everything written: held input is handled again, consumers and repliers go on. */
  private outputDrained(): void {
    const held = this.held
    if (held) {
      this.held = undefined
      for (let i = 0; i < held.length; i++) {
        const f = held[i]!
        this.handleFrame(f.type, f.channel, f.payload)
        const heldAgain = this.held as HeldFrame[] | undefined
        if (heldAgain) {
          // Backed up again: the rest waits for the next drain, still in order
          for (let j = i + 1; j < held.length; j++) heldAgain.push(held[j]!)
          break
        }
      }
      if (!this.held) this.resumeReading()
    }
    if (this.backedUp) return
    for (const channel of this.channels.values()) channel.wakeConsumers()
    const waiters = this.drainWaiters
    this.drainWaiters = undefined
    if (waiters) for (const w of waiters) w.flowResume()
  }

  /** Reads the socket again unless an alarm, flow control or held input keeps it paused. */
  private resumeReading(): void {
    if (this.state === 'closing' || this.state === 'closed') this.socket.resume()
    else if (!this.blocked && !this.throttled && !this.held) this.socket.resume()
  }

  /** Flow control for direct reply-to: a publisher replying to this connection waits for it to drain. */
  waitUntilDrained(waiter: { flowResume(): void }): void {
    ;(this.drainWaiters ??= new Set()).add(waiter)
  }

  /**
   * The client sent connection.close: its channels go, close-ok goes out, and the socket stays open until
   * the client closes it (or CLOSING_TIMEOUT_MS). Ending it ourselves at once would race the client's other
   * threads: one still waiting for its own close-ok would read EOF instead (amqp091-go does).
   */
  private closedByClient(): void {
    this.releaseChannels()
    this.send(0, { name: 'connection.close-ok' })
    this.flush()
    this.state = 'closed'
    clearTimeout(this.handshakeTimer)
    clearInterval(this.heartbeatTimer)
    this.resumeReading()
    const timeout = this.heartbeat > 0 ? Math.min(this.heartbeat * 1000, CLOSING_TIMEOUT_MS) : CLOSING_TIMEOUT_MS
    this.closeTimer = setTimeout(() => this.endGracefully(), timeout)
  }

  /**
   * Ends our side (FIN after everything queued) and keeps reading and dropping whatever the client still
   * sends until it closes too. Closing a socket with unread input would make the kernel answer with a
   * reset, which can destroy the last frames we sent (a close-ok) before the client reads them.
   */
  private endGracefully(): void {
    if (this.cleanedUp) return
    this.state = 'closed'
    this.held = undefined
    this.flush()
    this.socket.resume()
    this.socket.end()
    clearTimeout(this.closeTimer)
    this.closeTimer = setTimeout(() => this.socket.destroy(), LINGER_MS)
  }

  /** Closes the connection with an error: connection.close, then discard frames until close-ok. */
  closeWithError(err: AmqpError): void {
    if (this.state === 'closing' || this.state === 'closed') return
    const beforeOpen = this.state !== 'running'
    this.state = 'closing'
    this.send(0, {
      name: 'connection.close',
      replyCode: err.replyCode,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    })
    this.flush()
    // Read on (a blocked client too): its close-ok must reach us, and unread input must not reset the socket
    const held = this.held
    this.held = undefined
    if (held) for (const f of held) this.handleFrameNow(f.type, f.channel, f.payload)
    this.resumeReading()
    // A client that never finished the handshake may not answer; don't wait long for it
    this.closeTimer = setTimeout(() => this.endGracefully(), beforeOpen ? 1000 : CLOSE_OK_TIMEOUT_MS)
    this.releaseChannels()
  }

  /** Broker shutdown: connection.close 320 CONNECTION_FORCED, as RabbitMQ does. */
  forceClose(reason: string): void {
    if (this.state === 'running') {
      this.closeWithError(
        new ConnectionError(ReplyCode.CONNECTION_FORCED, `broker forced connection closure with reason '${reason}'`),
      )
    } else if (this.state === 'closed' || this.state === 'closing') this.endGracefully()
    else this.socket.destroy()
  }

  /**
   * A channel saw basic.publish. Under a resource alarm the connection is blocked, as RabbitMQ blocks a
   * connection when a publish reaches it while an alarm is set: a connection that only consumes and acks
   * is never blocked, whatever it published before the alarm.
   */
  notePublish(): void {
    if (this.broker.alarms.active && !this.blocked && this.state === 'running') {
      this.blocked = true
      this.socket.pause()
      const reason = this.broker.alarms.reason
      if (this.blockedNotify) this.send(0, { name: 'connection.blocked', reason })
      this.log.debug({ reason }, 'publishing connection blocked by a resource alarm')
    }
  }

  /** Every alarm has cleared: a blocked connection is read again. */
  alarmChanged(active: boolean): void {
    if (active || !this.blocked) return
    this.blocked = false
    this.resumeReading()
    if (this.blockedNotify) this.send(0, { name: 'connection.unblocked' })
    this.log.debug('resource alarms cleared: connection unblocked')
  }

  /**
   * Flow control: a publisher whose messages pile up in a queue that consumers are draining stops being
   * read until the queue is back under its low mark, or for at most THROTTLE_MAX_MS, so that publishing
   * settles at the pace of the consumers instead of growing the queue (and latency) without end.
   * Connections that consume too are never throttled: their acks must keep flowing.
   */
  throttleFor(queue: FlowQueue): void {
    if (this.hasConsumers()) return
    this.throttleUntilDrained(queue)
  }

  /**
   * Flow control for a direct reply to a connection whose output is backed up: this publisher is not read
   * until that connection drains, or for at most THROTTLE_MAX_MS, even if it consumes (a replier usually
   * does): one client that does not read its replies must not stall the replier for everyone else.
   */
  throttleForReply(target: Connection): void {
    if (target !== this) this.throttleUntilDrained(target)
  }

  /** Stops reading this connection until `source` drains, or for at most THROTTLE_MAX_MS. */
  private throttleUntilDrained(source: FlowQueue): void {
    if (this.throttled || this.state !== 'running') return
    this.throttled = true
    this.socket.pause()
    source.waitUntilDrained(this)
    this.throttleTimer = setTimeout(() => this.flowResume(), THROTTLE_MAX_MS)
  }

  flowResume(): void {
    if (!this.throttled) return
    this.throttled = false
    clearTimeout(this.throttleTimer)
    this.resumeReading()
  }

  private hasConsumers(): boolean {
    for (const channel of this.channels.values()) if (channel.hasConsumers) return true
    return false
  }

  private startHeartbeat(): void {
    if (this.heartbeat === 0) return
    // Tick at half the interval: send a heartbeat if we wrote nothing, give up after two silent intervals
    const tickMs = (this.heartbeat * 1000) / 2
    this.heartbeatTimer = setInterval(() => this.heartbeatTick(), tickMs)
    this.heartbeatTimer.unref()
  }

  private heartbeatTick(): void {
    if (!this.wroteSinceTick) {
      this.out.heartbeat()
      this.flush()
    }
    this.wroteSinceTick = false
    // A blocked connection is not read, so its silence proves nothing
    if (this.readSinceTick || this.blocked || this.throttled || this.held) this.silentTicks = 0
    else if (++this.silentTicks >= 4) {
      this.log.warn({ timeout: this.heartbeat }, `missed heartbeats from client, timeout: ${this.heartbeat}s`)
      this.socket.destroy()
    }
    this.readSinceTick = false
  }

  private releaseChannels(): void {
    for (const channel of this.channels.values()) channel.release()
    this.channels.clear()
    this.vhost?.dropExclusiveQueues(this)
  }

  private cleanup(): void {
    if (this.cleanedUp) return
    this.cleanedUp = true
    this.state = 'closed'
    clearInterval(this.heartbeatTimer)
    clearTimeout(this.handshakeTimer)
    clearTimeout(this.closeTimer)
    clearTimeout(this.throttleTimer)
    this.held = undefined
    const waiters = this.drainWaiters
    this.drainWaiters = undefined
    if (waiters) for (const w of waiters) w.flowResume()
    this.broker.alarms.unsubscribe(this)
    this.releaseChannels()
    this.log.debug('connection closed')
    this.onClosed(this)
  }
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}
