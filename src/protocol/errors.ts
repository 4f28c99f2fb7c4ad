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

  /** The reply text as RabbitMQ formats it: "NOT_FOUND - no queue 'q' in vhost '/'" */
  get replyText(): string {
    return this.message
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
export const frameError = (detail: string) => new ConnectionError(ReplyCode.FRAME_ERROR, detail)
export const syntaxError = (detail: string) => new ConnectionError(ReplyCode.SYNTAX_ERROR, detail)
export const commandInvalid = (detail: string) => new ConnectionError(ReplyCode.COMMAND_INVALID, detail)
export const channelError = (detail: string) => new ConnectionError(ReplyCode.CHANNEL_ERROR, detail)
export const unexpectedFrame = (detail: string) => new ConnectionError(ReplyCode.UNEXPECTED_FRAME, detail)
export const notAllowed = (detail: string) => new ConnectionError(ReplyCode.NOT_ALLOWED, detail)
export const notImplemented = (detail: string) => new ConnectionError(ReplyCode.NOT_IMPLEMENTED, detail)
export const internalError = (detail: string) => new ConnectionError(ReplyCode.INTERNAL_ERROR, detail)
