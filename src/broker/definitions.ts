// Converts the model's durable entities to the definitions the store logs, and back at start.
import { encodeTable, readTable } from '../protocol/field-table.js'
import type { FieldTable } from '../protocol/field-value.js'
import { Reader } from '../protocol/reader.js'
import type {
  BindingDefinition,
  DefinitionChange,
  ExchangeDefinition,
  QueueDefinition,
} from '../store/definitions-log.js'
import { INTERNAL_USER, type Binding, type Exchange } from './exchange/exchange.js'
import type { Queue } from './queue/queue.js'

export type RecordChange = (change: DefinitionChange) => void

export function tableToText(t: FieldTable): string {
  return Object.keys(t).length === 0 ? '' : encodeTable(t).toString('base64')
}

export function tableFromText(text: string): FieldTable {
  return text === '' ? {} : readTable(new Reader(Buffer.from(text, 'base64')))
}

export function exchangeDefinition(vhost: string, e: Exchange): ExchangeDefinition {
  const o = e.options
  return {
    vhost,
    name: e.name,
    type: e.type,
    durable: o.durable,
    autoDelete: o.autoDelete,
    internal: o.internal,
    arguments: tableToText(o.arguments),
    ...(e.declaredBy !== INTERNAL_USER ? { declaredBy: e.declaredBy } : {}),
  }
}

export function queueDefinition(q: Queue): QueueDefinition {
  const o = q.options
  return {
    vhost: q.vhost,
    name: q.name,
    durable: o.durable,
    autoDelete: o.autoDelete,
    arguments: tableToText(o.arguments),
  }
}

export function bindingDefinition(vhost: string, b: Binding): BindingDefinition {
  return {
    vhost,
    source: b.source.name,
    destination: b.destination.name,
    destinationType: b.destination.kind,
    routingKey: b.routingKey,
    arguments: tableToText(b.arguments),
  }
}

/** A binding survives a restart when both its ends do, as in RabbitMQ. */
export function isDurableBinding(b: Binding): boolean {
  const d = b.destination
  return b.source.durable && d.durable && (d.kind === 'exchange' || d.owner === null)
}
