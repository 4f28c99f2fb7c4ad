// Where a published message goes, and what became of it. The router follows exchange-to-exchange bindings
// and alternate exchanges to the queues, resolves direct reply-to addresses, puts the message into its
// queues, and republishes the messages that die in a queue to the queue's dead-letter exchange.
import { fieldString, routingKeysOf } from '../protocol/field-value.js'
import { deadLetteredMessage, deathQueues, type DeathReason } from './dead-letter.js'
import { DirectReplyTo, type ReplyTarget } from './direct-reply-to.js'
import type { Durability } from './durability.js'
import type { Destination, Exchange } from './exchange/exchange.js'
import type { Message } from './message.js'
import { effectivePolicy, type Policy } from './policy.js'
import type { Queue } from './queue/queue.js'
import type { Logger } from '../util/logger.js'

const NO_QUEUES: readonly Queue[] = Object.freeze([])

/**
 * What became of a publish. The server turns it into basic.return, a confirm and flow control; it does not
 * route. One object per vhost is reused by every publish (nothing is allocated per message for it): read it
 * before the next publish.
 */
export class PublishResult {
  /** The queues the message was routed to, those that refused it included (flow control looks at each) */
  queues: readonly Queue[] = NO_QUEUES
  /**
   * Set when the message was published to the default exchange with a direct reply-to address as its routing
   * key, and the address's consumer is still there: the reply goes to it, through no queue. An address whose
   * consumer has gone routes nowhere (returned if mandatory, confirmed), as in RabbitMQ.
   */
  replyTo: ReplyTarget | undefined = undefined
  /** A queue wrote it to the message store: its confirm (or tx.commit-ok) waits until `batch` is synced */
  stored = false
  /** The store batch it was written in, when stored */
  batch = 0
  /** A queue refused it: a length limit with x-overflow reject-publish(-dlx), or the store failed. Nacked */
  refused = false
  /** Routed only (a publish in a transaction): the queues take it at commit, through Vhost.enqueue */
  held = false

  /** A queue or a direct reply-to consumer takes it: a mandatory message is not returned. */
  get routed(): boolean {
    return this.queues.length > 0 || this.replyTo !== undefined
  }
}

export class Router {
  private readonly result = new PublishResult()
  /** enqueue() calls under way, and the dead letters that wait for them to finish (see deadLetter) */
  private enqueueDepth = 0
  private deferredDeadLetters: [Queue, Message, DeathReason][] = []

  constructor(
    private readonly exchanges: ReadonlyMap<string, Exchange>,
    private readonly policies: ReadonlyMap<string, Policy>,
    private readonly directReplyTo: DirectReplyTo,
    /** Absent without a message store (no queue then writes to one) */
    private readonly durability: Durability | undefined,
    private readonly log: Logger,
  ) {}

  /**
   * Routes a published message and puts it into its queues, or finds the consumer of a direct reply-to
   * address. With `hold` (a transaction) it is only routed, as RabbitMQ routes a transaction's publishes
   * when they are made; a direct reply is never held.
   */
  publish(
    exchange: Exchange,
    message: Message,
    extraKeys: readonly string[] | undefined,
    hold: boolean,
  ): PublishResult {
    if (exchange.name === '' && DirectReplyTo.isReplyRoute(message.routingKey)) {
      const r = this.reset()
      r.replyTo = this.directReplyTo.targetOf(message.routingKey)
      return r
    }
    const queues = this.route(exchange, message, extraKeys)
    exchange.stats.publishIn++
    exchange.stats.publishOut += queues.length
    if (!hold) return this.enqueue(queues, message)
    const r = this.reset()
    r.queues = queues
    r.held = true
    return r
  }

  /**
   * Puts a routed message into its queues. A queue deleted since the message was routed (in a transaction)
   * no longer takes it; with none left, it is unroutable.
   */
  enqueue(queues: readonly Queue[], message: Message): PublishResult {
    const r = this.reset()
    r.queues = withoutDeleted(queues)
    this.put(r.queues, message, r)
    if (r.stored) r.batch = this.durability!.currentBatch
    return r
  }

  private reset(): PublishResult {
    const r = this.result
    r.queues = NO_QUEUES
    r.replyTo = undefined
    r.stored = false
    r.batch = 0
    r.refused = false
    r.held = false
    return r
  }

  /** Enqueues into each queue, noting stores and refusals in `result` (none for a dead letter). */
  private put(queues: readonly Queue[], message: Message, result: PublishResult | undefined): void {
    this.enqueueDepth++
    try {
      for (let i = 0; i < queues.length; i++) {
        const outcome = queues[i]!.enqueue(message)
        if (result === undefined) continue
        if (outcome === 'refused') result.refused = true
        else if (outcome === 'stored') result.stored = true
        if (outcome !== 'refused') queues[i]!.stats.publish++
      }
    } finally {
      this.enqueueDepth--
    }
    if (this.enqueueDepth === 0 && this.deferredDeadLetters.length > 0) {
      const deferred = this.deferredDeadLetters
      this.deferredDeadLetters = []
      for (const [queue, dead, reason] of deferred) this.republish(queue, dead, reason)
    }
  }

  /**
   * The queues a message published to an exchange reaches, following exchange-to-exchange bindings
   * (each exchange visited once, so cycles end) with every queue listed once.
   */
  route(exchange: Exchange, message: Message, extraKeys?: readonly string[]): Queue[] {
    const found: Destination[] = []
    this.routeThrough(exchange, message, extraKeys, found)
    if (found.length === 0) return []
    if (found.length === 1 && found[0]!.kind === 'queue') return found as Queue[]
    const queues = new Set<Queue>()
    const visited = new Set<Exchange>([exchange])
    for (let i = 0; i < found.length; i++) {
      const d = found[i]!
      if (d.kind === 'queue') queues.add(d)
      else if (!visited.has(d)) {
        visited.add(d)
        this.routeThrough(d, message, extraKeys, found)
      }
    }
    return [...queues]
  }

  /** One exchange's destinations for the routing key and any CC/BCC keys, or its alternate exchange. */
  private routeThrough(
    exchange: Exchange,
    message: Message,
    extraKeys: readonly string[] | undefined,
    found: Destination[],
  ): void {
    const before = found.length
    exchange.route(message, message.routingKey, found)
    if (extraKeys) for (const key of extraKeys) exchange.route(message, key, found)
    if (found.length > before) return
    const alternate =
      fieldString(exchange.options.arguments['alternate-exchange']) ??
      fieldString(
        effectivePolicy(this.policies.values(), 'exchanges', exchange.name)?.def.definition['alternate-exchange'],
      )
    const ae = alternate === undefined ? undefined : this.exchanges.get(alternate)
    if (ae) found.push(ae)
  }

  /**
   * Republishes a message that died in a queue to the queue's dead-letter exchange. One that died while a
   * message was being enqueued (pushed out by a length limit) is republished once every queue has the
   * message: in RabbitMQ the dead letter comes from the queue's process, after the publish reached them all.
   */
  deadLetter(queue: Queue, message: Message, reason: DeathReason): void {
    // Counted as RabbitMQ's queue counts it, when it dies: dead-lettered if the exchange exists (whether the
    // dead letter then reaches a queue or not), dropped if it does not
    queue.stats.countDeath(reason, this.exchanges.has(queue.settings.deadLetterExchange!))
    if (this.enqueueDepth > 0) {
      this.deferredDeadLetters.push([queue, message, reason])
      return
    }
    this.republish(queue, message, reason)
  }

  private republish(queue: Queue, message: Message, reason: DeathReason): void {
    const { deadLetterExchange, deadLetterRoutingKey } = queue.settings
    const exchange = this.exchanges.get(deadLetterExchange!)
    if (!exchange) {
      this.log.debug(
        { queue: queue.name, exchange: deadLetterExchange },
        'dead-letter exchange missing: message dropped',
      )
      return
    }
    const dead = deadLetteredMessage(message, reason, queue.name, exchange.name, deadLetterRoutingKey)
    // Without a dead-letter routing key the message goes by its original keys, BCC ones included
    const cc =
      deadLetterRoutingKey === undefined
        ? [...routingKeysOf(message.headers?.['CC']), ...(message.bccKeys ?? [])]
        : undefined
    // A cycle is broken: back into a queue the message already died in, with no client rejection among the
    // deaths since (that one included); x-death lists the most recent first (RabbitMQ's is_cycle/2)
    const deaths = deathQueues(dead)
    const isCycle = (name: string): boolean => {
      const last = deaths.findIndex((d) => d.queue === name)
      return last >= 0 && deaths.slice(0, last + 1).every((d) => d.reason !== 'rejected')
    }
    const targets = this.route(exchange, dead, cc).filter((q) => !isCycle(q.name))
    this.put(targets, dead, undefined)
  }
}

/** The queues not deleted: the same array when none is (routing never yields a deleted queue). */
function withoutDeleted(queues: readonly Queue[]): readonly Queue[] {
  for (let i = 0; i < queues.length; i++) {
    if (queues[i]!.deleted) return queues.filter((q) => !q.deleted)
  }
  return queues
}
