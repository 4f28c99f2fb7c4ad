// Protocol errors carry their AMQP reply code. Any layer may throw them; the connection maps a
// ChannelError to channel.close and a ConnectionError to connection.close in one place.
import { ERROR_KINDS, REPLY_CODE_NAMES, ReplyCode, type ErrorCode } from './generated/constants.js'

export abstract class AmqpError extends Error {
  /** Leave class-id and method-id 0 in the close, even though a method caused it */
  noMethod = false

  constructor(
    readonly replyCode: number,
    /** The text after the code name, e.g. "no queue 'q' in vhost '/'" */
    readonly detail: string,
    /** The offending method, when known (0 when not) */
    public classId = 0,
    public methodId = 0,
  ) {
    super(`${REPLY_CODE_NAMES.get(replyCode) ?? 'UNKNOWN'} - ${detail}`)
  }

  /**
   * The reply text as RabbitMQ formats it, "NOT_FOUND - no queue 'q' in vhost '/'", made to fit a shortstr:
   * past 255 bytes RabbitMQ keeps 252 and adds "...".
   */
  get replyText(): string {
    return fitShortstr(this.message)
  }
}

/** A soft error: the channel is closed, the connection carries on. */
export class ChannelError extends AmqpError {
  override name = 'ChannelError'
}

/** A hard error: the whole connection is closed. */
export class ConnectionError extends AmqpError {
  override name = 'ConnectionError'
}

/** The class an error code's error gets: the specification's kind, as generated into ERROR_KINDS. */
export type ErrorFor<C extends ErrorCode> = (typeof ERROR_KINDS)[C] extends 'channel' ? ChannelError : ConnectionError

/**
 * The error for a reply code: a ChannelError for a soft code, a ConnectionError for a hard one, as the
 * specification says (src/protocol/spec/amqp-0-9-1.json). The one place where a code meets its class; only the
 * handshake builds a ConnectionError with a soft code itself (a refused login, 403, has no channel to close).
 */
export function amqpError<C extends ErrorCode>(code: C, detail: string): ErrorFor<C> {
  const error = ERROR_KINDS[code] === 'channel' ? new ChannelError(code, detail) : new ConnectionError(code, detail)
  return error as ErrorFor<C>
}

// One factory per code the broker raises, named after the code (test/unit/errors-catalogue.test.ts checks
// both the name and the class against the specification).
export const accessRefused = (detail: string) => amqpError(ReplyCode.ACCESS_REFUSED, detail)
export const notFound = (detail: string) => amqpError(ReplyCode.NOT_FOUND, detail)
export const resourceLocked = (detail: string) => amqpError(ReplyCode.RESOURCE_LOCKED, detail)
export const preconditionFailed = (detail: string) => amqpError(ReplyCode.PRECONDITION_FAILED, detail)
export const resourceError = (detail: string) => amqpError(ReplyCode.RESOURCE_ERROR, detail)
export const frameError = (detail: string) => amqpError(ReplyCode.FRAME_ERROR, detail)
export const syntaxError = (detail: string) => amqpError(ReplyCode.SYNTAX_ERROR, detail)
export const commandInvalid = (detail: string) => amqpError(ReplyCode.COMMAND_INVALID, detail)
/**
 * 504 CHANNEL_ERROR, a connection error despite its name: a channel used wrongly (a method before
 * channel.open, a second channel.open, another class's method on channel 0).
 */
export const badChannelError = (detail: string) => amqpError(ReplyCode.CHANNEL_ERROR, detail)
export const unexpectedFrame = (detail: string) => amqpError(ReplyCode.UNEXPECTED_FRAME, detail)
export const notAllowed = (detail: string) => amqpError(ReplyCode.NOT_ALLOWED, detail)
export const notImplemented = (detail: string) => amqpError(ReplyCode.NOT_IMPLEMENTED, detail)
export const internalError = (detail: string) => amqpError(ReplyCode.INTERNAL_ERROR, detail)
export const connectionForced = (detail: string) => amqpError(ReplyCode.CONNECTION_FORCED, detail)

/** Cuts a text to at most 255 UTF-8 bytes, as RabbitMQ does (252 bytes and "..."), never inside a character. */
export function fitShortstr(text: string): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= 255) return text
  let end = 252
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end-- // back to the start of a character
  return bytes.toString('utf8', 0, end) + '...'
}
