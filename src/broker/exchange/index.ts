import type { Exchange, ExchangeOptions } from './exchange.js'
import { DirectExchange } from './direct.js'
import { FanoutExchange } from './fanout.js'
import { HeadersExchange } from './headers.js'
import { TopicExchange } from './topic.js'

type ExchangeClass = new (name: string, options: ExchangeOptions) => Exchange

/** The exchange types a client may declare, by their AMQP type name. */
export const EXCHANGE_TYPES: ReadonlyMap<string, ExchangeClass> = new Map<string, ExchangeClass>([
  ['direct', DirectExchange],
  ['fanout', FanoutExchange],
  ['topic', TopicExchange],
  ['headers', HeadersExchange],
])

export function createExchange(type: string, name: string, options: ExchangeOptions): Exchange | undefined {
  const Ctor = EXCHANGE_TYPES.get(type)
  return Ctor ? new Ctor(name, options) : undefined
}
