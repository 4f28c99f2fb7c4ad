// Protocol errors carry their AMQP reply code. Any layer may throw them; the connection maps a
// ChannelError to channel.close and a ConnectionError to connection.close in one place.
import { REPLY_CODE_NAMES, ReplyCode } from './generated/constants.js'

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

export const notFound = (detail: string) => new ChannelError(ReplyCode.NOT_FOUND, detail)
export const accessRefused = (detail: string) => new ChannelError(ReplyCode.ACCESS_REFUSED, detail)
export const resourceLocked = (detail: string) => new ChannelError(ReplyCode.RESOURCE_LOCKED, detail)
export const preconditionFailed = (detail: string) => new ChannelError(ReplyCode.PRECONDITION_FAILED, detail)
export const resourceError = (detail: string) => new ChannelError(ReplyCode.RESOURCE_ERROR, detail)
export const frameError = (detail: string) => new ConnectionError(ReplyCode.FRAME_ERROR, detail)
export const syntaxError = (detail: string) => new ConnectionError(ReplyCode.SYNTAX_ERROR, detail)
export const commandInvalid = (detail: string) => new ConnectionError(ReplyCode.COMMAND_INVALID, detail)
export const channelError = (detail: string) => new ConnectionError(ReplyCode.CHANNEL_ERROR, detail)
export const unexpectedFrame = (detail: string) => new ConnectionError(ReplyCode.UNEXPECTED_FRAME, detail)
export const notAllowed = (detail: string) => new ConnectionError(ReplyCode.NOT_ALLOWED, detail)
export const notImplemented = (detail: string) => new ConnectionError(ReplyCode.NOT_IMPLEMENTED, detail)
export const internalError = (detail: string) => new ConnectionError(ReplyCode.INTERNAL_ERROR, detail)

/** Cuts a text to at most 255 UTF-8 bytes, as RabbitMQ does (252 bytes and "..."), never inside a character. */
export function fitShortstr(text: string): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= 255) return text
  let end = 252
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end-- // back to the start of a character
  return bytes.toString('utf8', 0, end) + '...'
}
