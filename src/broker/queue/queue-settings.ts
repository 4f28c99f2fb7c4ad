// What a queue's arguments (x-message-ttl, x-max-length, ...) ask of it, read once at declare time.
import { fieldNumber, fieldString, type FieldTable } from '../../protocol/field-value.js'
import type { Message } from '../message.js'

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx'

export interface QueueSettings {
  /** x-message-ttl, milliseconds */
  messageTtl: number | undefined
  /** x-expires: delete the queue after this many milliseconds unused */
  expires: number | undefined
  deadLetterExchange: string | undefined
  deadLetterRoutingKey: string | undefined
  maxLength: number | undefined
  maxLengthBytes: number | undefined
  overflow: Overflow
  maxPriority: number | undefined
  singleActiveConsumer: boolean
}

/**
 * Settings from a queue's arguments, with the policy's definition filling in what the arguments leave out.
 * For the limits (ttl, expiry, lengths) both count and the smaller applies, as RabbitMQ's classic queue
 * resolves them (res_min in rabbit_amqqueue_process; x-max-length 5 under a policy max-length 2 keeps 2).
 */
export function queueSettings(args: FieldTable, policy: FieldTable = {}): QueueSettings {
  const num = (arg: string, key: string) => fieldNumber(args[arg]) ?? fieldNumber(policy[key])
  const min = (arg: string, key: string) => {
    const own = fieldNumber(args[arg])
    const fromPolicy = fieldNumber(policy[key])
    return own === undefined ? fromPolicy : fromPolicy === undefined ? own : Math.min(own, fromPolicy)
  }
  const str = (arg: string, key: string) => fieldString(args[arg]) ?? fieldString(policy[key])
  return {
    messageTtl: min('x-message-ttl', 'message-ttl'),
    expires: min('x-expires', 'expires'),
    deadLetterExchange: str('x-dead-letter-exchange', 'dead-letter-exchange'),
    deadLetterRoutingKey: str('x-dead-letter-routing-key', 'dead-letter-routing-key'),
    maxLength: min('x-max-length', 'max-length'),
    maxLengthBytes: min('x-max-length-bytes', 'max-length-bytes'),
    overflow: (str('x-overflow', 'overflow') as Overflow | undefined) ?? 'drop-head',
    maxPriority: num('x-max-priority', 'max-priority'),
    singleActiveConsumer: args['x-single-active-consumer'] === true,
  }
}

/** The message's time to live: the lower of its expiration property and the queue's x-message-ttl. */
export function expiryOf(message: Message, queueTtl: number | undefined): number | undefined {
  const expiration = message.properties.expiration
  const own = expiration === undefined ? undefined : Number(expiration)
  if (own === undefined) return queueTtl
  return queueTtl === undefined ? own : Math.min(own, queueTtl)
}
