// Imports a definitions file in RabbitMQ's JSON format (what `rabbitmqctl export_definitions` writes and
// `load_definitions` reads): exchanges, queues, bindings and policies. Durable ones are then stored like any
// other declared through AMQP. Users, vhosts and permissions come with the issues that add them.
import { readFileSync } from 'node:fs'
import type { FieldTable } from '../protocol/field-value.js'
import type { Vhost } from './vhost.js'

interface FileExchange {
  name: string
  vhost?: string
  type: string
  durable?: boolean
  auto_delete?: boolean
  internal?: boolean
  arguments?: FieldTable
}
interface FileQueue {
  name: string
  vhost?: string
  durable?: boolean
  auto_delete?: boolean
  arguments?: FieldTable
}
interface FileBinding {
  source: string
  vhost?: string
  destination: string
  destination_type: 'queue' | 'exchange'
  routing_key?: string
  arguments?: FieldTable
}
interface FilePolicy {
  name: string
  vhost?: string
  pattern: string
  'apply-to'?: 'queues' | 'exchanges' | 'all'
  priority?: number
  definition: Record<string, string | number | boolean>
}
interface DefinitionsFile {
  exchanges?: FileExchange[]
  queues?: FileQueue[]
  bindings?: FileBinding[]
  policies?: FilePolicy[]
}

/** The owner used for declarations that come from no connection. */
const NO_CONNECTION = {}

/** Applies the file to the broker's vhosts (by name); throws if it cannot be read or names a vhost not there. */
export function importDefinitions(vhosts: ReadonlyMap<string, Vhost>, path: string): { applied: number } {
  let file: DefinitionsFile
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as DefinitionsFile
  } catch (err) {
    throw new Error(`cannot read definitions file ${path}: ${err instanceof Error ? err.message : String(err)}`)
  }
  const vhostOf = (name = '/') => {
    const vhost = vhosts.get(name)
    if (!vhost) throw new Error(`definitions file ${path}: vhost '${name}' does not exist`)
    return vhost
  }
  let applied = 0
  for (const p of file.policies ?? []) {
    vhostOf(p.vhost).setPolicy({
      vhost: p.vhost ?? '/',
      name: p.name,
      pattern: p.pattern,
      applyTo: p['apply-to'] ?? 'all',
      priority: p.priority ?? 0,
      definition: p.definition,
    })
    applied++
  }
  for (const e of file.exchanges ?? []) {
    const options = {
      durable: e.durable ?? true,
      autoDelete: e.auto_delete ?? false,
      internal: e.internal ?? false,
      arguments: e.arguments ?? {},
    }
    vhostOf(e.vhost).declareExchange(e.name, e.type, options, false)
    applied++
  }
  for (const q of file.queues ?? []) {
    const options = {
      durable: q.durable ?? true,
      exclusive: false,
      autoDelete: q.auto_delete ?? false,
      arguments: q.arguments ?? {},
    }
    vhostOf(q.vhost).declareQueue(q.name, options, false, NO_CONNECTION)
    applied++
  }
  for (const b of file.bindings ?? []) {
    const vhost = vhostOf(b.vhost)
    if (b.destination_type === 'queue') {
      vhost.bindQueue(b.destination, b.source, b.routing_key ?? '', b.arguments ?? {}, NO_CONNECTION)
    } else vhost.bindExchange(b.destination, b.source, b.routing_key ?? '', b.arguments ?? {})
    applied++
  }
  return { applied }
}
