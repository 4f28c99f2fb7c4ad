// The handshake of one client, from the protocol header to connection.open-ok, as straight-line code (in
// the spirit of LavinMQ's ConnectionFactory): header, start/start-ok (PLAIN, AMQPLAIN; EXTERNAL over TLS),
// tune/tune-ok, open.
// It owns the socket until open-ok, and only then builds the Connection with what was negotiated, handing
// it the bytes read after connection.open in order (clients pipeline channel.open), so a Connection is
// never half open. RabbitMQ's ways of ending a handshake are kept: a wrong protocol header gets the right
// one back; a failure before connection.open is awaited ends in a silent close after SILENT_CLOSE_DELAY_MS
// (a refused login gets 403 only if the client announced authentication_failure_close); a failure while
// connection.open is awaited gets connection.close; the whole handshake must end within --handshake-timeout.
import type { Duplex } from 'node:stream'
import type { Broker } from '../broker/broker.js'
import type { User } from '../auth/users.js'
import type { Vhost } from '../broker/vhost.js'
import {
  AmqpError,
  ChannelError,
  ConnectionError,
  commandInvalid,
  frameError,
  internalError,
  notAllowed,
  unexpectedFrame,
} from '../protocol/errors.js'
import type { FieldTable } from '../protocol/field-value.js'
import { FRAME_MIN_SIZE, ReplyCode } from '../protocol/generated/constants.js'
import { METHODS, decodeMethod, encodeMethod, type Method, type MethodName } from '../protocol/generated/methods.js'
import { Reader } from '../protocol/reader.js'
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, Writer } from '../protocol/writer.js'
import type { Logger } from '../util/logger.js'
import { Connection, type ClientCapabilities, type ConnectionInfo } from './connection.js'
import { HEARTBEAT_FRAME, Heartbeat, type HeartbeatHost } from './heartbeat.js'
import { certificateLogin, externalLogin, offeredMechanisms, parseCredentials } from './sasl.js'
import { serverProperties } from './server-properties.js'
import { closingTimeout, endGracefully } from './socket-end.js'

const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')
const FRAME_HEADER_SIZE = 7
/** RabbitMQ's SILENT_CLOSE_DELAY: a client whose handshake fails waits this long for its socket to close. */
const SILENT_CLOSE_DELAY_MS = 3000
/** A client that never finished the handshake may not answer our connection.close: we don't wait long. */
const CLOSE_OK_TIMEOUT_MS = 1000

/** Told of each connection the handshake opens, and of its close. */
export interface ConnectionListener {
  opened(connection: Connection): void
  closed(connection: Connection): void
}

/** Where the handshake is; RabbitMQ's errors name it ("unexpected method ... in connection state tune"). */
type Phase = 'header' | 'start' | 'tune' | 'open'

interface Frame {
  readonly type: number
  readonly channel: number
  readonly payload: Buffer
}

type MethodCalled<N extends MethodName> = Extract<Method, { name: N }>

/** The handshake ended without a connection; whatever ended it has dealt with the socket already. */
class HandshakeEnded extends Error {}
/** The client sent connection.close during the handshake. */
class ClosedByClient extends Error {}

export class Handshake implements HeartbeatHost {
  private phase: Phase = 'header'
  readonly log: Logger
  private readonly out = new Writer(4096)
  /** Bytes read and not yet parsed, in order */
  private input: Buffer[] = []
  private inputBytes = 0
  /** Wakes the reader waiting for input (or for the end of it) */
  private wakeReader: (() => void) | undefined
  /** Input is no longer parsed (the handshake failed or is over); what arrives is read and dropped */
  private dropInput = false
  private socketClosed = false
  /** A close is under way: stopping the broker then ends the socket gracefully instead of cutting it */
  private closing = false
  private readonly timeout: NodeJS.Timeout
  private closeTimer: NodeJS.Timeout | undefined
  /** Started at tune-ok, handed to the connection at open */
  private heartbeat: Heartbeat | undefined
  /** The method of the frame being handled: a close for an error in it names it */
  private method: MethodName | undefined
  /** Largest frame payload accepted: frame_max less header and end octet until tune-ok */
  private maxPayload: number
  private clientProperties: FieldTable = {}
  /** The SASL mechanism of connection.start-ok */
  private mechanism = ''
  private capabilities: ClientCapabilities = { consumerCancelNotify: false, blockedNotify: false }
  /** The client wants connection.close 403 for a refused login, not a silent close */
  private authFailureClose = false
  /** The credentials were wrong (not a malformed response or an unknown mechanism) */
  private loginRefused = false

  private readonly onData = (chunk: Buffer): void => {
    if (this.heartbeat) this.heartbeat.readSinceTick = true
    if (this.dropInput) return
    this.input.push(chunk)
    this.inputBytes += chunk.length
    this.wake()
  }
  private readonly onError = (err: Error): void => this.log.debug({ err: err.message }, 'socket error')
  private readonly onClose = (): void => {
    this.socketClosed = true
    clearTimeout(this.timeout)
    clearTimeout(this.closeTimer)
    this.heartbeat?.stop()
    this.stopParsing()
  }

  constructor(
    private readonly broker: Broker,
    private readonly socket: Duplex,
    readonly info: ConnectionInfo,
    private readonly listener: ConnectionListener,
  ) {
    this.log = broker.log.child({ client: `${info.remoteAddress}:${info.remotePort}` })
    this.maxPayload = broker.config.frameMax - 8
    socket.on('data', this.onData)
    socket.on('error', this.onError)
    socket.on('close', this.onClose)
    this.timeout = setTimeout(() => {
      this.log.warn({ timeout: broker.config.handshakeTimeout }, 'handshake timed out')
      this.socket.destroy()
    }, broker.config.handshakeTimeout)
  }

  /** Runs the handshake to connection.open-ok and the connection's start, or to the end of the socket. */
  async run(): Promise<void> {
    try {
      const header = await this.take(PROTOCOL_HEADER.length)
      if (!header.equals(PROTOCOL_HEADER)) return this.refuseProtocol(header)
      this.phase = 'start'
      const mechanisms = offeredMechanisms(this.socket)
      this.send({
        name: 'connection.start',
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: serverProperties(),
        mechanisms: mechanisms.join(' '),
        locales: 'en_US',
      })
      const user = this.login(await this.expect('connection.start-ok'), mechanisms)
      const config = this.broker.config
      this.phase = 'tune'
      this.send({
        name: 'connection.tune',
        channelMax: config.channelMax,
        frameMax: config.frameMax,
        heartbeat: config.heartbeat,
      })
      const tune = this.tune(await this.expect('connection.tune-ok'))
      this.phase = 'open'
      const open = await this.expect('connection.open')
      const vhost = this.broker.vhosts.get(open.virtualHost)
      if (!vhost) throw notAllowed(`vhost ${open.virtualHost} not found`)
      // The vhost's and the user's max-connections (530, as RabbitMQ refuses them)
      this.broker.limits.checkConnection(vhost.name, user.name)
      if (!this.broker.permissions.mayAccessVhost(user.name, vhost.name))
        throw notAllowed(`access to vhost '${vhost.name}' refused for user '${user.name}'`)
      this.open(user, vhost, tune)
    } catch (err) {
      if (err instanceof HandshakeEnded) return
      try {
        if (err instanceof ClosedByClient) await this.closedByClient()
        else await this.failed(err)
      } catch (ended) {
        if (!(ended instanceof HandshakeEnded)) this.log.error({ err: ended }, 'internal error closing a handshake')
      }
    }
  }

  /** The broker stops: a handshake under way is cut; one that is closing ends gracefully. */
  abort(): void {
    if (this.closing) this.end()
    else this.socket.destroy()
  }

  /**
   * connection.start-ok, its login counted as RabbitMQ counts it (rabbitmq_auth_attempts_*): once a mechanism
   * we offered is chosen, every outcome is an attempt; a mechanism we did not offer is not one
   */
  private login(startOk: MethodCalled<'connection.start-ok'>, mechanisms: string[]): User {
    const attempts = this.broker.stats.authAttempts
    const offered = mechanisms.includes(startOk.mechanism)
    try {
      const user = this.authenticate(startOk, mechanisms)
      attempts.succeeded++
      return user
    } catch (err) {
      if (offered) attempts.failed++
      throw err
    }
  }

  /** The checks of connection.start-ok; the capabilities the client announced; the login. */
  private authenticate(startOk: MethodCalled<'connection.start-ok'>, mechanisms: string[]): User {
    const { mechanism, clientProperties } = startOk
    this.clientProperties = clientProperties
    this.mechanism = mechanism
    const caps = clientProperties['capabilities']
    if (caps !== null && typeof caps === 'object' && !Array.isArray(caps) && !Buffer.isBuffer(caps)) {
      this.capabilities = {
        consumerCancelNotify: (caps as FieldTable)['consumer_cancel_notify'] === true,
        blockedNotify: (caps as FieldTable)['connection.blocked'] === true,
      }
      this.authFailureClose = (caps as FieldTable)['authentication_failure_close'] === true
    }
    if (!mechanisms.includes(mechanism)) {
      throw new ConnectionError(
        ReplyCode.ACCESS_REFUSED,
        `unsupported authentication mechanism '${mechanism}', use one of ${mechanisms.join(' ')}`,
      )
    }
    let username: string
    let result: ReturnType<Broker['users']['authenticate']>
    if (mechanism === 'EXTERNAL') {
      // The certificate names the user; the response is ignored, as by rabbit_auth_mechanism_ssl
      const login = certificateLogin(this.socket, this.broker.config.sslCertLoginFrom)
      username = login.ok ? login.username : ''
      result = login.ok ? externalLogin(this.broker.users, username) : login
    } else {
      const credentials = parseCredentials(mechanism, Buffer.from(startOk.response))
      if (!credentials) throw new ConnectionError(ReplyCode.ACCESS_REFUSED, `malformed ${mechanism} response`)
      username = credentials.username
      result = this.broker.users.authenticate(credentials.username, credentials.password)
    }
    // RabbitMQ's loopback_users: checked after the credentials, with the same refusal
    if (
      result.ok &&
      !isLoopback(this.info.remoteAddress) &&
      this.broker.config.loopbackUsers.includes(result.user.name)
    )
      result = { ok: false, reason: `user '${result.user.name}' can only connect via localhost` }
    if (!result.ok) {
      this.log.warn({ user: username, mechanism, reason: result.reason }, 'login refused')
      const refused = new ConnectionError(
        ReplyCode.ACCESS_REFUSED,
        `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
      )
      refused.noMethod = true // RabbitMQ names no method (0/0) in a login refusal
      this.loginRefused = true
      throw refused
    }
    return result.user
  }

  /** The client's tune-ok within our limits; heartbeats start now, as in RabbitMQ. */
  private tune(tuneOk: MethodCalled<'connection.tune-ok'>): { channelMax: number; frameMax: number } {
    const { channelMax, frameMax, heartbeat } = tuneOk
    const serverChannelMax = this.broker.config.channelMax
    const serverFrameMax = this.broker.config.frameMax
    if (channelMax > serverChannelMax) throw notAllowed(`channel_max=${channelMax} > ${serverChannelMax} max size`)
    if (frameMax !== 0 && frameMax < FRAME_MIN_SIZE)
      throw notAllowed(`frame_max=${frameMax} < ${FRAME_MIN_SIZE} min size`)
    if (frameMax > serverFrameMax) throw notAllowed(`frame_max=${frameMax} > ${serverFrameMax} max size`)
    const negotiatedFrameMax = frameMax === 0 ? serverFrameMax : frameMax
    // Like RabbitMQ, a frame may be 8 bytes over frame_max (clients that count only the payload)
    this.maxPayload = negotiatedFrameMax
    this.heartbeat = new Heartbeat(heartbeat, this)
    return { channelMax: channelMax === 0 ? serverChannelMax : channelMax, frameMax: negotiatedFrameMax }
  }

  /** connection.open-ok, then the socket and the bytes read after connection.open go to the connection. */
  private open(user: User, vhost: Vhost, tune: { channelMax: number; frameMax: number }): void {
    clearTimeout(this.timeout)
    if (this.socketClosed) return
    this.send({ name: 'connection.open-ok' })
    this.socket.off('data', this.onData)
    this.socket.off('error', this.onError)
    this.socket.off('close', this.onClose)
    const pipelined = this.inputBytes > 0 ? Buffer.concat(this.input, this.inputBytes) : undefined
    this.stopParsing()
    const connection = new Connection(
      this.broker,
      this.socket,
      this.info,
      this.log,
      {
        user,
        vhost,
        channelMax: tune.channelMax,
        frameMax: tune.frameMax,
        heartbeat: this.heartbeat!,
        clientProperties: this.clientProperties,
        capabilities: this.capabilities,
        authMechanism: this.mechanism,
      },
      (c) => this.listener.closed(c),
    )
    this.listener.opened(connection)
    // The client's own name for the connection, which RabbitMQ logs too ("client-provided name")
    const connectionName = connection.userProvidedName
    this.log.info(
      { user: user.name, vhost: vhost.name, ...(connectionName !== undefined && { connectionName }) },
      'connection opened',
    )
    if (pipelined) connection.receive(pipelined)
  }

  /** The next method for the handshake to act on: heartbeats and methods that change nothing are skipped. */
  private async expect<N extends MethodName>(name: N): Promise<MethodCalled<N>> {
    for (;;) {
      this.method = undefined
      const { type, channel, payload } = await this.readFrame()
      if (type === FRAME_METHOD) {
        const m = this.decode(payload)
        if (channel !== 0) throw commandInvalid(`channel ${channel} used before connection.open`)
        if (m.name === 'connection.close') throw new ClosedByClient()
        if (m.name === 'connection.close-ok' || m.name === 'connection.blocked' || m.name === 'connection.unblocked') {
          continue // a client telling us it is blocked changes nothing here
        }
        if (m.name !== name) throw commandInvalid(`unexpected method ${m.name} in connection state ${this.phase}`)
        return m as MethodCalled<N>
      }
      if (type === FRAME_HEARTBEAT) {
        if (channel !== 0) throw unexpectedFrame(`heartbeat frame on channel ${channel}`)
        if (payload.length !== 0) throw frameError(`heartbeat frame with a ${payload.length}-byte payload`)
        continue
      }
      if (type === FRAME_HEADER || type === FRAME_BODY) {
        throw unexpectedFrame(`content frame on channel ${channel}, where no content is expected`)
      }
      throw frameError(`unknown frame type ${type}`)
    }
  }

  private decode(payload: Buffer): Method {
    const reader = new Reader(payload)
    const m = decodeMethod(reader)
    this.method = m.name
    if (reader.pos !== payload.length) {
      throw frameError(`cannot decode ${m.name}: ${payload.length - reader.pos} bytes after its last argument`)
    }
    return m
  }

  /**
   * Like RabbitMQ, a handshake that fails before connection.open is awaited gets no explanation: the socket
   * is closed after SILENT_CLOSE_DELAY_MS (which also slows down password guessing). The exception is a
   * refused login from a client that announced the capability authentication_failure_close: it gets 403.
   * Once tune-ok is in, errors are explained with connection.close, as after the handshake.
   */
  private async failed(err: unknown): Promise<void> {
    if (this.loginRefused && this.authFailureClose && err instanceof AmqpError) return this.closeWithError(err)
    if (this.phase === 'start' || this.phase === 'tune') {
      if (err instanceof AmqpError) {
        this.log.warn({ code: err.replyCode, text: err.replyText, state: this.phase }, 'handshake failed')
      } else this.log.error({ err }, 'internal error during the handshake')
      this.closing = true
      this.stopParsing()
      clearTimeout(this.timeout)
      this.closeTimer = setTimeout(() => this.end(), SILENT_CLOSE_DELAY_MS)
      return
    }
    if (err instanceof AmqpError && this.method && err.classId === 0 && !err.noMethod) {
      const info = METHODS[this.method]
      err.classId = info.classId
      err.methodId = info.methodId
    }
    if (err instanceof ConnectionError || err instanceof ChannelError) {
      this.log.warn({ code: err.replyCode, text: err.replyText }, 'connection error')
      return this.closeWithError(err)
    }
    this.log.error({ err }, 'internal error')
    return this.closeWithError(internalError(err instanceof Error ? err.message : String(err)))
  }

  /** connection.close, then read on (a close-ok must reach us) until close-ok, or CLOSE_OK_TIMEOUT_MS. */
  private async closeWithError(err: AmqpError): Promise<void> {
    this.closing = true
    this.send({
      name: 'connection.close',
      replyCode: err.replyCode,
      replyText: err.replyText,
      classId: err.classId,
      methodId: err.methodId,
    })
    this.closeTimer = setTimeout(() => this.end(), CLOSE_OK_TIMEOUT_MS)
    for (;;) {
      const m = await this.nextMethodWhileClosing()
      if (m?.name === 'connection.close-ok') return this.end()
      if (m?.name === 'connection.close') this.send({ name: 'connection.close-ok' })
    }
  }

  /**
   * The client sent connection.close: close-ok goes out, and the socket stays open until the client closes
   * it (or the closing timeout). Further closes get their close-ok; everything else is dropped.
   */
  private async closedByClient(): Promise<void> {
    this.closing = true
    this.send({ name: 'connection.close-ok' })
    clearTimeout(this.timeout)
    this.heartbeat?.stop()
    this.closeTimer = setTimeout(() => this.end(), closingTimeout(this.heartbeat?.seconds ?? 0))
    for (;;) {
      const m = await this.nextMethodWhileClosing()
      if (m?.name === 'connection.close') this.send({ name: 'connection.close-ok' })
    }
  }

  /** A method on channel 0 while closing, or undefined for any other frame; garbage stops the reading. */
  private async nextMethodWhileClosing(): Promise<Method | undefined> {
    let frame: Frame
    try {
      frame = await this.readFrame()
    } catch (err) {
      // Framing lost: nothing more is parsed; the socket is still read, so unread input cannot reset it
      this.stopParsing()
      throw err instanceof HandshakeEnded ? err : new HandshakeEnded()
    }
    if (frame.type !== FRAME_METHOD || frame.channel !== 0) return undefined
    try {
      return this.decode(frame.payload)
    } catch {
      return undefined // garbage while closing changes nothing
    }
  }

  /** The spec's answer to an unsupported protocol: our header, then close. */
  private refuseProtocol(header: Buffer): void {
    this.log.info({ header: header.toString('hex') }, 'unsupported protocol header')
    this.closing = true
    this.stopParsing()
    this.socket.end(PROTOCOL_HEADER)
  }

  /** Ends the socket gracefully (FIN, then read and drop until the client closes too). */
  private end(): void {
    if (this.socketClosed) return
    this.stopParsing()
    clearTimeout(this.closeTimer)
    this.closeTimer = endGracefully(this.socket)
  }

  private send(method: Method): void {
    encodeMethod(this.out, 0, method)
    const chunks = this.out.take()
    if (this.socket.destroyed || !this.socket.writable) return
    if (this.heartbeat) this.heartbeat.wroteSinceTick = true
    for (const chunk of chunks) this.socket.write(chunk)
  }

  sendHeartbeat(): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(HEARTBEAT_FRAME)
  }

  get readingPaused(): boolean {
    return false
  }

  heartbeatMissed(): void {
    const timeout = this.heartbeat?.seconds
    this.log.warn({ timeout }, `missed heartbeats from client, timeout: ${timeout}s`)
    this.socket.destroy()
  }

  /** Reads one frame, checking its size against frame_max before waiting for its payload. */
  private async readFrame(): Promise<Frame> {
    const header = await this.peek(FRAME_HEADER_SIZE)
    const size = header.readUInt32BE(3)
    if (size > this.maxPayload) throw frameError(`frame size ${size + 8} exceeds frame_max ${this.maxPayload + 8}`)
    const frame = await this.take(FRAME_HEADER_SIZE + size + 1)
    const end = frame[frame.length - 1]!
    if (end !== FRAME_END) throw frameError(`invalid frame end octet 0x${end.toString(16)}`)
    return { type: frame[0]!, channel: frame.readUInt16BE(1), payload: frame.subarray(FRAME_HEADER_SIZE, -1) }
  }

  /** The next `n` bytes of input, consumed; waits for them. */
  private async take(n: number): Promise<Buffer> {
    await this.need(n)
    const first = this.contiguous(n)
    this.inputBytes -= n
    if (first.length === n) this.input.shift()
    else this.input[0] = first.subarray(n)
    return first.subarray(0, n)
  }

  /** The next `n` bytes of input (or more), left in place; waits for them. */
  private async peek(n: number): Promise<Buffer> {
    await this.need(n)
    return this.contiguous(n)
  }

  private async need(n: number): Promise<void> {
    while (this.inputBytes < n) {
      if (this.dropInput) throw new HandshakeEnded()
      await new Promise<void>((resolve) => (this.wakeReader = resolve))
    }
  }

  /** The first input buffer, made at least `n` bytes long (a frame that came in pieces is joined once). */
  private contiguous(n: number): Buffer {
    // Input dropped since the wait ended: the handshake is over
    if (this.inputBytes < n) throw new HandshakeEnded()
    if (this.input[0]!.length < n) this.input = [Buffer.concat(this.input, this.inputBytes)]
    return this.input[0]!
  }

  private wake(): void {
    const wake = this.wakeReader
    this.wakeReader = undefined
    wake?.()
  }

  /** Nothing more is parsed: input is dropped from now on, and a waiting reader ends. */
  private stopParsing(): void {
    this.dropInput = true
    this.input = []
    this.inputBytes = 0
    this.wake()
  }
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}
