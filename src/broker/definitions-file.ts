// Imports a definitions file in RabbitMQ's JSON format (what `rabbitmqctl export_definitions` writes and
// `load_definitions` reads): users (with their password hashes, hashing algorithms, tags and limits), vhosts
// (with their metadata and limits), permissions, topic permissions, vhost limits given as parameters,
// policies, exchanges, queues and bindings. Everything goes through the broker's operations, so it is
// stored like anything made at run time. What Warren does not have (policy keys such as ha-mode or
// queue-mode, runtime parameters of plugins, unknown sections) is skipped with a warning, never fatal.
import { readFileSync } from 'node:fs'
import type { FieldTable } from '../protocol/field-value.js'
import type { Logger } from '../util/logger.js'
import { isHashingAlgorithm } from '../auth/password.js'
import type { LimitsDefinition, PolicyDefinition } from '../store/definitions-log.js'
import { POLICY_KEYS } from './policy.js'
import type { Tenancy } from './tenancy.js'
import type { Vhost } from './vhost.js'

interface FileUser {
  name: string
  password_hash?: string
  /** Not in RabbitMQ's exports, but accepted by its import: hashed here */
  password?: string
  hashing_algorithm?: string
  /** A list (3.9+), or a comma-separated string (older exports) */
  tags?: string | string[]
  limits?: LimitsDefinition
}
interface FileVhost {
  name: string
  /** Older exports */
  description?: string
  tags?: string | string[]
  default_queue_type?: string
  metadata?: { description?: string; tags?: string | string[]; default_queue_type?: string }
  /** [[name, value], ...] in 3.10's export, or an object */
  limits?: [string, number][] | LimitsDefinition
}
interface FilePermission {
  user: string
  vhost: string
  configure: string
  write: string
  read: string
}
interface FileTopicPermission {
  user: string
  vhost: string
  exchange: string
  write: string
  read: string
}
interface FileParameter {
  vhost: string
  component: string
  name: string
  value: unknown
}
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
  /** 3.8+: classic, quorum or stream */
  type?: string
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
  users?: FileUser[]
  vhosts?: FileVhost[]
  permissions?: FilePermission[]
  topic_permissions?: FileTopicPermission[]
  parameters?: FileParameter[]
  global_parameters?: { name: string; value: unknown }[]
  exchanges?: FileExchange[]
  queues?: FileQueue[]
  bindings?: FileBinding[]
  policies?: FilePolicy[]
}

/** An operator policy as RabbitMQ exports it: a parameter of the component operator_policy */
function operatorPolicy(p: FileParameter): PolicyDefinition {
  const value = (p.value ?? {}) as Partial<FilePolicy>
  return {
    vhost: p.vhost,
    name: p.name,
    pattern: value.pattern ?? '',
    applyTo: value['apply-to'] ?? 'all',
    priority: value.priority ?? 0,
    definition: value.definition ?? {},
    kind: 'operator',
  }
}

/** Sections of RabbitMQ's format that are imported, or that carry nothing to import */
const SECTIONS = new Set([
  'users',
  'vhosts',
  'permissions',
  'topic_permissions',
  'parameters',
  'global_parameters',
  'exchanges',
  'queues',
  'bindings',
  'policies',
  'rabbit_version',
  'rabbitmq_version',
  'product_name',
  'product_version',
])

/** The owner used for declarations that come from no connection. */
const NO_CONNECTION = {}

function tagList(tags: string | string[] | undefined): string[] {
  if (tags === undefined) return []
  const list = typeof tags === 'string' ? tags.split(',') : tags
  return list.map((t) => t.trim()).filter((t) => t !== '')
}

function limitsObject(limits: FileVhost['limits']): LimitsDefinition {
  if (limits === undefined) return {}
  return Array.isArray(limits) ? Object.fromEntries(limits) : limits
}

/**
 * Applies the file to the broker; throws if it cannot be read, or names a vhost or user that is neither in
 * it nor in the broker. Unknown sections and policy keys, and parameters of components Warren lacks, are
 * skipped with a warning.
 */
export function importDefinitions(
  tenancy: Tenancy,
  vhosts: ReadonlyMap<string, Vhost>,
  path: string,
  log: Logger,
): { applied: number } {
  let file: unknown
  try {
    file = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`cannot read definitions file ${path}: ${err instanceof Error ? err.message : String(err)}`)
  }
  return applyDefinitions(tenancy, vhosts, file, `definitions file ${path}`, log)
}

/**
 * Applies definitions in RabbitMQ's format, parsed already (a file's, or a body posted to the management
 * API's /api/definitions). `source` starts the errors' texts and is logged with the warnings.
 */
export function applyDefinitions(
  tenancy: Tenancy,
  vhosts: ReadonlyMap<string, Vhost>,
  parsed: unknown,
  source: string,
  log: Logger,
): { applied: number } {
  const fail = (err: unknown): never => {
    throw new Error(`${source}: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('not a JSON object')
  const file = parsed as DefinitionsFile
  const path = source
  const vhostOf = (name = '/') => vhosts.get(name) ?? fail(`vhost '${name}' does not exist`)
  for (const section of Object.keys(file)) {
    if (!SECTIONS.has(section)) log.warn({ file: path, section }, 'definitions file: unknown section skipped')
  }
  let applied = 0
  const apply = (what: () => void) => {
    try {
      what()
    } catch (err) {
      fail(err)
    }
    applied++
  }

  for (const u of file.users ?? []) {
    const named = u.hashing_algorithm ?? 'rabbit_password_hashing_sha256'
    const hashingAlgorithm = isHashingAlgorithm(named)
      ? named
      : fail(`user '${u.name}': unknown hashing algorithm '${named}'`)
    const tags = tagList(u.tags)
    apply(() => {
      if (u.password_hash !== undefined)
        tenancy.putUser(u.name, { passwordHash: u.password_hash, hashingAlgorithm, tags })
      else tenancy.putUser(u.name, { ...(u.password === undefined ? {} : { password: u.password }), tags })
    })
    if (u.limits && Object.keys(u.limits).length > 0) apply(() => tenancy.setUserLimits(u.name, u.limits!))
  }
  for (const v of file.vhosts ?? []) {
    const m = v.metadata ?? {}
    const defaultQueueType = m.default_queue_type ?? v.default_queue_type
    apply(() =>
      tenancy.createVhost(v.name, {
        description: m.description ?? v.description ?? '',
        tags: tagList(m.tags ?? v.tags),
        ...(defaultQueueType === undefined ? {} : { defaultQueueType }),
      }),
    )
    const limits = limitsObject(v.limits)
    if (Object.keys(limits).length > 0) apply(() => tenancy.setVhostLimits(v.name, limits))
  }
  for (const p of file.permissions ?? []) {
    apply(() => tenancy.setPermission(p.user, p.vhost, { configure: p.configure, write: p.write, read: p.read }))
  }
  for (const p of file.topic_permissions ?? []) {
    const tp = { exchange: p.exchange, write: p.write, read: p.read }
    apply(() => tenancy.setTopicPermission(p.user, p.vhost, tp))
  }
  // All of them, internal_cluster_id included, as RabbitMQ 3.10.8 imports them (checked)
  for (const g of file.global_parameters ?? []) apply(() => tenancy.setGlobalParameter(g.name, g.value))
  for (const p of file.parameters ?? []) {
    // RabbitMQ keeps vhost limits as the parameter 'limits' of the component 'vhost-limits'
    if (p.component === 'vhost-limits') apply(() => tenancy.setVhostLimits(p.vhost, p.value as LimitsDefinition))
    else if (p.component === 'operator_policy') apply(() => vhostOf(p.vhost).setPolicy(operatorPolicy(p)))
    else log.warn({ file: path, component: p.component, name: p.name }, 'definitions file: parameter skipped')
  }
  for (const p of file.policies ?? []) {
    const definition: Record<string, string | number | boolean> = {}
    for (const [key, value] of Object.entries(p.definition)) {
      if (POLICY_KEYS.has(key)) definition[key] = value
      else log.warn({ file: path, policy: p.name, key }, 'definitions file: policy key Warren does not have skipped')
    }
    apply(() =>
      vhostOf(p.vhost).setPolicy({
        vhost: p.vhost ?? '/',
        name: p.name,
        pattern: p.pattern,
        applyTo: p['apply-to'] ?? 'all',
        priority: p.priority ?? 0,
        definition,
      }),
    )
  }
  for (const e of file.exchanges ?? []) {
    const options = {
      durable: e.durable ?? true,
      autoDelete: e.auto_delete ?? false,
      internal: e.internal ?? false,
      arguments: e.arguments ?? {},
    }
    apply(() => vhostOf(e.vhost).declareExchange(e.name, e.type, options, false))
  }
  for (const q of file.queues ?? []) {
    const args = { ...(q.arguments ?? {}) }
    // The queue type is its own field in exports; Warren knows it from the argument
    if (q.type === 'quorum' && args['x-queue-type'] === undefined) args['x-queue-type'] = 'quorum'
    const options = {
      durable: q.durable ?? true,
      exclusive: false,
      autoDelete: q.auto_delete ?? false,
      arguments: args,
    }
    apply(() => vhostOf(q.vhost).declareQueue(q.name, options, false, NO_CONNECTION))
  }
  for (const b of file.bindings ?? []) {
    apply(() => {
      const vhost = vhostOf(b.vhost)
      if (b.destination_type === 'queue') {
        vhost.bindQueue(b.destination, b.source, b.routing_key ?? '', b.arguments ?? {}, NO_CONNECTION)
      } else vhost.bindExchange(b.destination, b.source, b.routing_key ?? '', b.arguments ?? {})
    })
  }
  return { applied }
}
