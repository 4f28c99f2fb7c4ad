// A virtual host: its exchanges, queues and bindings, and the rules RabbitMQ applies to declaring,
// binding and deleting them. Errors are thrown as ChannelError/ConnectionError with RabbitMQ's texts.
// It makes its queues whole (hooks, policy, store) and publishes through its router (router.ts).
import {
  accessRefused,
  type ChannelError,
  commandInvalid,
  notFound,
  preconditionFailed,
  resourceError,
  resourceLocked,
} from '../protocol/errors.js'
import { fieldString, type FieldTable } from '../protocol/field-value.js'
import {
  assertArgumentsEquivalent,
  assertFlagEquivalent,
  QUEUE_EQUIVALENCE_ARGS,
  validateQueueArguments,
} from './arguments.js'
import { DefaultExchange } from './exchange/default.js'
import { bindingId, type Binding, type Destination, type Exchange, type ExchangeOptions } from './exchange/exchange.js'
import { createExchange, EXCHANGE_TYPES } from './exchange/index.js'
import type { Message } from './message.js'
import type { QueueStore, RecordFields } from '../store/message-store.js'
import { Queue, type QueueHooks, type QueueOptions } from './queue/queue.js'
import type { Durability } from './durability.js'
import type { MessageMemory } from './message-memory.js'
import { DirectReplyTo } from './direct-reply-to.js'
import { generateName } from './names.js'
import { Router, type PublishResult } from './router.js'
import {
  bindingDefinition,
  exchangeDefinition,
  isDurableBinding,
  queueDefinition,
  tableFromText,
  type RecordChange,
} from './definitions.js'
import type { DefinitionChange, Definitions, PolicyDefinition } from '../store/definitions-log.js'
import { Policy, effectivePolicy, mergeOperatorPolicy, policyError } from './policy.js'
import type { Logger } from '../util/logger.js'
import { VhostCounters } from './stats.js'

const SYSTEM_EXCHANGES: [string, string][] = [
  ['amq.direct', 'direct'],
  ['amq.fanout', 'fanout'],
  ['amq.topic', 'topic'],
  ['amq.headers', 'headers'],
  ['amq.match', 'headers'],
]

/** What a vhost keeps on disk, given when it is made; in memory mode there is none and nothing is written. */
export interface VhostPersistence {
  /** Logs changes to durable definitions; throws when the change cannot be written */
  readonly record?: RecordChange
  /** The message store of durable queues, and the confirms that wait for its syncs */
  readonly durability?: Durability
}

/** What describes a vhost (RabbitMQ's vhost metadata) */
export interface VhostMetadata {
  description: string
  tags: string[]
  /** RabbitMQ 3.11's default queue type; kept and exported, not applied */
  defaultQueueType?: string
}

/** Checks a new queue against the vhost's max-queues (broker/limits.ts): throws 406 when it is reached */
export type CheckNewQueue = (vhost: string, queue: string, queues: number) => void

/**
 * Opens the store of a durable queue restored at start, pushing the messages it recovers, in order, with
 * whether each may have been delivered before.
 */
export type OpenQueueStore = (
  queue: string,
  push: (fields: RecordFields, position: number, redelivered: boolean) => void,
) => Promise<QueueStore>

/** 506 for a file operation that failed, naming its errno only (the error's message names server paths). */
function storageError(action: string, err: unknown): ChannelError {
  return resourceError(`${action}: ${(err as NodeJS.ErrnoException | null)?.code ?? 'I/O error'}`)
}

export class Vhost {
  /** The reply addresses of direct reply-to consumers */
  readonly directReplyTo = new DirectReplyTo()
  readonly exchanges = new Map<string, Exchange>()
  readonly queues = new Map<string, Queue>()
  readonly policies = new Map<string, Policy>()
  /** Operator policies (policy.ts): the limits an operator sets over users' policies and arguments */
  readonly operatorPolicies = new Map<string, Policy>()
  /** Its channels' publishing counts, and its deleted queues' counts (stats.ts) */
  readonly stats = new VhostCounters()
  readonly defaultExchange: DefaultExchange
  private readonly router: Router
  private readonly queueHooks: QueueHooks
  /** Logs changes to durable definitions; absent without a data directory */
  private readonly record: RecordChange | undefined
  /** Keeps the persistent messages of durable queues, and tells publishers when they are synced */
  readonly durability: Durability | undefined

  constructor(
    readonly name: string,
    private readonly log: Logger,
    /** The broker's budget of message bytes in memory, shared by all vhosts */
    readonly memory: MessageMemory,
    persistence: VhostPersistence = {},
    /** Its description and tags: changed by the broker when the vhost is updated */
    public metadata: VhostMetadata = { description: '', tags: [] },
    private readonly checkNewQueue: CheckNewQueue = () => {},
  ) {
    this.record = persistence.record
    this.durability = persistence.durability
    this.router = new Router(this.exchanges, this.policies, this.directReplyTo, this.durability, log)
    this.queueHooks = {
      memory,
      remove: (queue) => this.removeUnusedQueue(queue),
      deadLetter: (queue, message, reason) => this.router.deadLetter(queue, message, reason),
      failed: (queue, err) => this.log.error({ queue: queue.name, err }, 'queue delivery or expiry failed'),
      readFailing: (queue, err, retryMs, failures) =>
        this.log.warn(
          { queue: queue.name, err, retryMs, failures },
          'cannot read a paged-out message now; it waits, retrying',
        ),
      readResumed: (queue, failures) => this.log.info({ queue: queue.name, failures }, 'paged-out messages read again'),
      pageLost: (queue, err, lost, inStore) =>
        this.log.error(
          { queue: queue.name, vhost: this.name, err, lost, inStore },
          'paged-out transient messages lost: their page cannot be read back (gone or damaged); the queue goes on',
        ),
    }
    this.defaultExchange = new DefaultExchange((q) => this.queues.get(q))
    this.exchanges.set('', this.defaultExchange)
    const system: ExchangeOptions = { durable: true, autoDelete: false, internal: false, arguments: {} }
    for (const [name, type] of SYSTEM_EXCHANGES) this.exchanges.set(name, createExchange(type, name, system)!)
  }

  private describeQueue(name: string): string {
    return `queue '${name}' in vhost '${this.name}'`
  }

  private describeExchange(name: string): string {
    return `exchange '${name}' in vhost '${this.name}'`
  }

  private describeBinding(b: Binding): string {
    return `binding of ${b.destination.kind} '${b.destination.name}' to exchange '${b.source.name}' in vhost '${this.name}'`
  }

  /**
   * Logs a change to durable definitions, before it is made in memory. A change that cannot be written
   * (disk full, I/O error, no file descriptor left) is refused with 506 RESOURCE_ERROR, a channel error, and
   * must then not be made at all: the definitions on disk and in memory stay the same. The next change tries
   * to write again, so declares work again once the condition clears.
   */
  private storeChange(change: DefinitionChange, what: string): void {
    if (!this.record) return
    try {
      this.record(change)
    } catch (err) {
      // The definitions log says which file, once
      throw storageError(`cannot store the ${what}`, err)
    }
  }

  getExchange(name: string): Exchange {
    const exchange = this.exchanges.get(name)
    if (!exchange) throw notFound(`no ${this.describeExchange(name)}`)
    return exchange
  }

  /** A queue the given connection may use: 404 if missing, 405 if another connection's exclusive queue. */
  getQueue(name: string, owner: object): Queue {
    const queue = this.queues.get(name)
    if (!queue) throw notFound(`no ${this.describeQueue(name)}`)
    this.checkExclusiveAccess(queue, owner)
    return queue
  }

  private checkExclusiveAccess(queue: Queue, owner: object): void {
    if (queue.owner !== null && queue.owner !== owner) this.throwLocked(queue)
  }

  private throwLocked(queue: Queue): never {
    throw resourceLocked(
      `cannot obtain exclusive access to locked ${this.describeQueue(queue.name)}. It could be originally ` +
        'declared on another connection or the exclusive property value does not match that of the original declaration.',
    )
  }

  /** `user`: who declares it (kept for the management API); the broker's internal user if none */
  declareExchange(name: string, type: string, options: ExchangeOptions, passive: boolean, user?: string): Exchange {
    if (name === '') throw accessRefused('operation not permitted on the default exchange')
    if (passive) return this.getExchange(name)
    if (name.startsWith('amq.') && !this.exchanges.has(name)) {
      throw accessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`)
    }
    if (!EXCHANGE_TYPES.has(type)) throw commandInvalid(`unknown exchange type '${type}'`)
    const existing = this.exchanges.get(name)
    if (existing) {
      const what = this.describeExchange(name)
      assertFlagEquivalent('type', existing.type, type, what)
      assertFlagEquivalent('durable', existing.options.durable, options.durable, what)
      assertFlagEquivalent('auto_delete', existing.options.autoDelete, options.autoDelete, what)
      assertFlagEquivalent('internal', existing.options.internal, options.internal, what)
      assertArgumentsEquivalent(existing.options.arguments, options.arguments, ['alternate-exchange'], what)
      return existing
    }
    const exchange = createExchange(type, name, options)!
    if (user !== undefined) exchange.declaredBy = user
    if (exchange.durable) {
      const change = { op: 'exchange.add', exchange: exchangeDefinition(this.name, exchange) } as const
      this.storeChange(change, `definition of ${this.describeExchange(name)}`)
    }
    this.exchanges.set(name, exchange)
    this.log.debug({ vhost: this.name, exchange: name, type }, 'exchange declared')
    return exchange
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '') throw accessRefused('operation not permitted on the default exchange')
    if (name.startsWith('amq.')) {
      throw accessRefused(`deletion of system ${this.describeExchange(name)} not allowed`)
    }
    const exchange = this.exchanges.get(name)
    if (!exchange) return // deleting what is not there succeeds, as in RabbitMQ
    if (ifUnused && exchange.bindings.size > 0) throw preconditionFailed(`${this.describeExchange(name)} in use`)
    this.removeExchange(exchange)
  }

  /** Removes an exchange with its bindings; throws 506, removing nothing, if a durable one's deletion cannot be stored. */
  private removeExchange(exchange: Exchange): void {
    if (exchange.durable) {
      const change = { op: 'exchange.remove', vhost: this.name, name: exchange.name } as const
      this.storeChange(change, `deletion of ${this.describeExchange(exchange.name)}`)
    }
    this.exchanges.delete(exchange.name)
    // Bindings where it is the destination
    for (const source of this.exchanges.values()) {
      if (source.unbindAll(exchange) > 0) this.maybeAutoDeleteExchange(source)
    }
    for (const binding of exchange.bindings.values()) {
      if (binding.destination.kind === 'exchange') exchange.unbindAll(binding.destination)
    }
    exchange.bindings.clear()
  }

  /** An auto-delete exchange goes when its last binding (as a source) is removed. */
  private maybeAutoDeleteExchange(exchange: Exchange): void {
    if (exchange.options.autoDelete && exchange.bindings.size === 0 && this.exchanges.get(exchange.name) === exchange) {
      try {
        this.removeExchange(exchange)
      } catch (err) {
        // What removed its last binding has happened; the exchange stays as the definitions log has it, and
        // goes when a binding of it is removed again (as after a restart)
        this.log.error(
          { vhost: this.name, exchange: exchange.name, err },
          'auto-delete exchange kept: its deletion cannot be stored',
        )
      }
    }
  }

  declareQueue(
    requestedName: string,
    options: QueueOptions,
    passive: boolean,
    owner: object,
    /** Called with the queue's name (a server-named one's too) before anything else is checked: permissions */
    authorize?: (name: string) => void,
  ): { queue: Queue; messageCount: number; consumerCount: number } {
    if (passive) {
      const queue = this.getQueue(requestedName, owner)
      queue.touch()
      return { queue, messageCount: queue.messageCount, consumerCount: queue.consumerCount }
    }
    const name = requestedName === '' ? generateName('amq.gen-') : requestedName
    if (requestedName.startsWith('amq.')) throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`)
    authorize?.(name)
    const existing = this.queues.get(name)
    if (existing) {
      // an existing queue is compared, not validated: RabbitMQ reports a bad argument that differs from the
      // queue's as inequivalent
      // Strict on redeclare: the exclusive flag must match too (an owner of null means not exclusive)
      if (existing.owner !== (options.exclusive ? owner : null)) this.throwLocked(existing)
      const what = this.describeQueue(name)
      assertFlagEquivalent('durable', existing.options.durable, options.durable, what)
      assertFlagEquivalent('auto_delete', existing.options.autoDelete, options.autoDelete, what)
      assertArgumentsEquivalent(existing.options.arguments, options.arguments, QUEUE_EQUIVALENCE_ARGS, what)
      existing.touch()
      this.stats.queueChurn.declared++
      return { queue: existing, messageCount: existing.messageCount, consumerCount: existing.consumerCount }
    }
    // New queues only, before their arguments are looked at, as RabbitMQ does
    this.checkNewQueue(this.name, name, this.queues.size)
    const queueType = fieldString(options.arguments['x-queue-type']) ?? 'classic'
    if (queueType !== 'classic' && queueType !== 'quorum') {
      throw preconditionFailed(
        `invalid arg 'x-queue-type' for ${this.describeQueue(name)}: queue type '${queueType}' is not supported`,
      )
    }
    validateQueueArguments(options.arguments, this.describeQueue(name))
    if (queueType === 'quorum') {
      this.log.info({ vhost: this.name, queue: name }, 'quorum queue declared: Warren runs it as a durable queue')
    }
    const durable = options.durable && !options.exclusive
    // The store first: a durable queue never exists without one (its persistent messages would be
    // confirmed without being written)
    const store = durable && this.durability ? this.createQueueStore(name) : null
    const owned = options.exclusive ? owner : null
    const queue = new Queue(name, this.name, options, owned, this.queuePolicy(name), this.queueHooks, store)
    if (durable) {
      try {
        this.storeChange(
          { op: 'queue.add', queue: queueDefinition(queue) },
          `definition of ${this.describeQueue(name)}`,
        )
      } catch (err) {
        if (store) void this.deleteQueueStore(name)
        throw err
      }
    }
    this.queues.set(name, queue)
    queue.start()
    this.stats.queueChurn.declared++
    this.stats.queueChurn.created++
    return { queue, messageCount: 0, consumerCount: 0 }
  }

  /**
   * A new durable queue's store. It is made even while the store's writes fail (the queue's persistent
   * messages are then refused until they succeed again); if its directory cannot be made (disk full, out of
   * file descriptors), the declare fails with 506 RESOURCE_ERROR, a channel error.
   */
  private createQueueStore(name: string): QueueStore {
    try {
      return this.durability!.store.createQueue(this.name, name)
    } catch (err) {
      this.log.error({ vhost: this.name, queue: name, err }, 'cannot create the store of a durable queue')
      throw storageError(`cannot create the store of ${this.describeQueue(name)}`, err)
    }
  }

  private deleteQueueStore(name: string): Promise<void> {
    return this.durability!.store.deleteQueue(this.name, name).catch((err: unknown) => {
      this.log.error({ vhost: this.name, queue: name, err }, 'could not remove the store of a deleted queue')
    })
  }

  deleteQueue(name: string, ifUnused: boolean, ifEmpty: boolean, owner: object): number {
    const queue = this.queues.get(name)
    if (!queue) return 0 // idempotent, as in RabbitMQ
    this.checkExclusiveAccess(queue, owner)
    if (ifUnused && queue.consumerCount > 0) throw preconditionFailed(`${this.describeQueue(name)} in use`)
    if (ifEmpty && queue.messageCount > 0) throw preconditionFailed(`${this.describeQueue(name)} not empty`)
    return this.removeQueue(queue)
  }

  /**
   * Removes a queue with its bindings; returns the number of ready messages it held. If a durable queue's
   * deletion cannot be stored, throws 506 and removes nothing: deleting it in memory only would bring it
   * back at the next start, and deleting its messages too would lose them for a queue that still exists.
   */
  removeQueue(queue: Queue): number {
    if (this.queues.get(queue.name) !== queue) return 0
    const durable = queue.durable && queue.owner === null
    if (durable) {
      const change = { op: 'queue.remove', vhost: this.name, name: queue.name } as const
      this.storeChange(change, `deletion of ${this.describeQueue(queue.name)}`)
    }
    this.queues.delete(queue.name)
    this.stats.retireQueue(queue.stats)
    this.stats.queueChurn.deleted++
    // Its directory is moved aside at once: a queue of the same name may be declared right away (the queue
    // lets go of its store when it is deleted, below)
    if (durable && queue.store) void this.deleteQueueStore(queue.name)
    for (const exchange of this.exchanges.values()) {
      if (exchange.unbindAll(queue) > 0) this.maybeAutoDeleteExchange(exchange)
    }
    return queue.delete()
  }

  /** An auto-delete queue whose last consumer left, or a queue unused for x-expires, is deleted. */
  private removeUnusedQueue(queue: Queue): void {
    try {
      this.removeQueue(queue)
    } catch (err) {
      // Kept, as the definitions log has it: an expiring queue is tried again when it expires again, an
      // auto-delete one when its next consumer leaves
      this.log.error({ vhost: this.name, queue: queue.name, err }, 'unused queue kept: its deletion cannot be stored')
      queue.touch()
    }
  }

  purgeQueue(name: string, owner: object): number {
    return this.getQueue(name, owner).purge()
  }

  bindQueue(queueName: string, exchangeName: string, routingKey: string, args: FieldTable, owner: object): void {
    if (exchangeName === '') throw accessRefused(`operation not permitted on the default exchange`)
    const exchange = this.getExchange(exchangeName)
    const queue = this.getQueue(queueName, owner)
    exchange.validateBindingArguments(args)
    this.addBinding(exchange, queue, routingKey, args)
  }

  unbindQueue(queueName: string, exchangeName: string, routingKey: string, args: FieldTable, owner: object): void {
    if (exchangeName === '') throw accessRefused(`operation not permitted on the default exchange`)
    // Unbinding what is not there succeeds, as in RabbitMQ
    const queue = this.queues.get(queueName)
    const exchange = this.exchanges.get(exchangeName)
    if (!queue || !exchange) return
    this.checkExclusiveAccess(queue, owner)
    this.removeBinding(exchange, queue, routingKey, args)
  }

  bindExchange(destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    if (destinationName === '' || sourceName === '') {
      throw accessRefused('operation not permitted on the default exchange')
    }
    const source = this.getExchange(sourceName)
    const destination = this.getExchange(destinationName)
    source.validateBindingArguments(args)
    this.addBinding(source, destination, routingKey, args)
  }

  unbindExchange(destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    if (destinationName === '' || sourceName === '') {
      throw accessRefused('operation not permitted on the default exchange')
    }
    const destination = this.exchanges.get(destinationName)
    const source = this.exchanges.get(sourceName)
    if (!destination || !source) return
    this.removeBinding(source, destination, routingKey, args)
  }

  /** Adds a binding unless it exists; a durable one is stored first (506, and no binding, if it cannot be). */
  private addBinding(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    if (source.bindings.has(bindingId(destination, routingKey, args))) return
    const binding: Binding = { source, destination, routingKey, arguments: args }
    if (isDurableBinding(binding)) {
      const change = { op: 'binding.add', binding: bindingDefinition(this.name, binding) } as const
      this.storeChange(change, this.describeBinding(binding))
    }
    source.bind(destination, routingKey, args)
  }

  /** Removes a binding if it exists; a durable one's removal is stored first (506, and kept, if it cannot be). */
  private removeBinding(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    const binding = source.bindings.get(bindingId(destination, routingKey, args))
    if (!binding) return
    if (isDurableBinding(binding)) {
      const change = { op: 'binding.remove', binding: bindingDefinition(this.name, binding) } as const
      this.storeChange(change, `removal of the ${this.describeBinding(binding)}`)
    }
    source.unbind(destination, routingKey, args)
    this.maybeAutoDeleteExchange(source)
  }

  /** The user policy and the operator policy in force for a queue, and the definition they make together */
  queuePolicies(name: string): { policy?: Policy; operatorPolicy?: Policy; definition: FieldTable } {
    const policy = effectivePolicy(this.policies.values(), 'queues', name)
    const operatorPolicy = effectivePolicy(this.operatorPolicies.values(), 'queues', name)
    const own = policy?.def.definition ?? {}
    const definition = operatorPolicy ? mergeOperatorPolicy(own, operatorPolicy.def.definition) : own
    return { ...(policy ? { policy } : {}), ...(operatorPolicy ? { operatorPolicy } : {}), definition }
  }

  private queuePolicy(name: string): FieldTable {
    return this.queuePolicies(name).definition
  }

  private policiesOf(kind: 'operator' | undefined): Map<string, Policy> {
    return kind === 'operator' ? this.operatorPolicies : this.policies
  }

  /** Adds or replaces a policy (an operator policy if def.kind says so) and applies it to the queues it matches. */
  setPolicy(def: PolicyDefinition): void {
    const error = policyError(def)
    if (error) throw new Error(`policy '${def.name}': ${error}`)
    const policy = new Policy(def)
    const what = def.kind === 'operator' ? 'operator policy' : 'policy'
    this.storeChange({ op: 'policy.add', policy: def }, `${what} '${def.name}' in vhost '${this.name}'`)
    this.policiesOf(def.kind).set(def.name, policy)
    this.reapplyPolicies()
  }

  clearPolicy(name: string, kind?: 'operator'): boolean {
    const policies = this.policiesOf(kind)
    if (!policies.has(name)) return false
    const what = kind === 'operator' ? 'operator policy' : 'policy'
    this.storeChange(
      { op: 'policy.remove', vhost: this.name, name, ...(kind ? { kind } : {}) },
      `removal of ${what} '${name}' in vhost '${this.name}'`,
    )
    policies.delete(name)
    this.reapplyPolicies()
    return true
  }

  private reapplyPolicies(): void {
    for (const queue of this.queues.values()) queue.applyPolicy(this.queuePolicy(queue.name))
  }

  /**
   * Recreates durable definitions at start, without logging them again: policies, exchanges, then each
   * durable queue with its messages (openStore opens its store and pushes what it recovers), then bindings.
   */
  async restore(defs: Definitions, openStore: OpenQueueStore): Promise<Queue[]> {
    for (const p of defs.policies) if (p.vhost === this.name) this.policiesOf(p.kind).set(p.name, new Policy(p))
    for (const e of defs.exchanges) {
      if (e.vhost !== this.name || this.exchanges.has(e.name)) continue
      const options = {
        durable: true,
        autoDelete: e.autoDelete,
        internal: e.internal,
        arguments: tableFromText(e.arguments),
      }
      const exchange = createExchange(e.type, e.name, options)
      if (exchange && e.declaredBy !== undefined) exchange.declaredBy = e.declaredBy
      if (exchange) this.exchanges.set(e.name, exchange)
      else this.log.warn({ exchange: e.name, type: e.type }, 'stored exchange of an unknown type skipped')
    }
    const restored: Queue[] = []
    for (const q of defs.queues) {
      if (q.vhost !== this.name) continue
      const options = {
        durable: true,
        exclusive: false,
        autoDelete: q.autoDelete,
        arguments: tableFromText(q.arguments),
      }
      const queue = await Queue.recover(q.name, this.name, options, this.queuePolicy(q.name), this.queueHooks, (push) =>
        openStore(q.name, push),
      )
      this.queues.set(q.name, queue)
      restored.push(queue)
    }
    for (const b of defs.bindings) {
      if (b.vhost !== this.name) continue
      const source = this.exchanges.get(b.source)
      const destination =
        b.destinationType === 'queue' ? this.queues.get(b.destination) : this.exchanges.get(b.destination)
      if (source && destination) source.bind(destination, b.routingKey, tableFromText(b.arguments))
    }
    for (const queue of restored) queue.start()
    return restored
  }

  /** The exchange a basic.publish names: 404 if missing, 403 if internal (only exchanges bound to it publish). */
  exchangeForPublish(name: string): Exchange {
    const exchange = this.getExchange(name)
    if (exchange.options.internal) {
      throw accessRefused(`cannot publish to internal exchange '${exchange.name}' in vhost '${this.name}'`)
    }
    return exchange
  }

  /**
   * Routes a published message and puts it into its queues (or finds the consumer of a direct reply-to
   * address); with `hold`, in a transaction, only routes it (enqueue() at commit). The result is valid
   * until the next publish in this vhost.
   */
  publish(exchange: Exchange, message: Message, extraKeys?: readonly string[], hold = false): PublishResult {
    return this.router.publish(exchange, message, extraKeys, hold)
  }

  /** Puts a message routed earlier (a transaction's, at commit) into those of its queues still there. */
  enqueue(queues: readonly Queue[], message: Message): PublishResult {
    return this.router.enqueue(queues, message)
  }

  /**
   * The vhost is deleted (its deletion already logged): every queue goes with its messages, and the stores
   * of durable queues are removed. Its connections have been closed before; its exchanges go with it.
   */
  async destroy(): Promise<void> {
    const stores: Promise<void>[] = []
    for (const queue of [...this.queues.values()]) {
      this.queues.delete(queue.name)
      this.stats.retireQueue(queue.stats)
      this.stats.queueChurn.deleted++
      if (queue.store) stores.push(this.deleteQueueStore(queue.name))
      queue.delete()
    }
    await Promise.all(stores)
  }

  /** Deletes the exclusive queues of a connection that has closed. */
  dropExclusiveQueues(owner: object): void {
    for (const queue of [...this.queues.values()]) {
      if (queue.owner === owner) this.removeQueue(queue)
    }
  }
}
