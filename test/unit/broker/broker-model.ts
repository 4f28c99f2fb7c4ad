// Pieces shared by the tests of the broker's model without sockets: a consumer that records what a queue
// hands it, messages, queue hooks that record dead letters, and a vhost.
import { MessageMemory } from '../../../src/broker/message-memory.js'
import { Message, type LoadedEntry } from '../../../src/broker/message.js'
import type { DeathReason } from '../../../src/broker/dead-letter.js'
import type { Consumer, Queue, QueueHooks, QueueOptions } from '../../../src/broker/queue/queue.js'
import { Vhost, type VhostPersistence } from '../../../src/broker/vhost.js'
import type { FieldTable } from '../../../src/protocol/field-value.js'
import type { BasicProperties } from '../../../src/protocol/generated/properties.js'
import { encodeProperties } from '../../../src/protocol/properties.js'
import { capturingLogger } from '../store/store-helpers.js'

/** A consumer as the server's channel is one to a queue: it takes messages while it has credit. */
export class FakeConsumer implements Consumer {
  readonly exclusive = false
  readonly received: LoadedEntry[] = []
  cancelled = false

  constructor(
    readonly tag: string,
    /** Messages it can still take (prefetch credit) */
    public credit = Infinity,
    readonly noAck = false,
    readonly priority = 0,
  ) {}

  canTake(): boolean {
    return this.credit > 0
  }

  deliver(entry: LoadedEntry): void {
    this.credit--
    this.received.push(entry)
  }

  cancelledByQueue(): void {
    this.cancelled = true
  }

  /** The bodies it received, as text. */
  get bodies(): string[] {
    return this.received.map((e) => e.message.body.toString())
  }
}

export function message(body: string, routingKey = 'rk', properties: BasicProperties = {}, exchange = ''): Message {
  return new Message(exchange, routingKey, properties, encodeProperties(properties), Buffer.from(body))
}

export function queueOptions(args: FieldTable = {}, durable = false): QueueOptions {
  return { durable, exclusive: false, autoDelete: false, arguments: args }
}

export interface DeadLetter {
  queue: string
  body: string
  reason: DeathReason
}

/** Hooks that record the dead letters and removals a queue asks its vhost for. */
export function recordingHooks(): QueueHooks & { deadLetters: DeadLetter[]; removed: Queue[] } {
  const deadLetters: DeadLetter[] = []
  const removed: Queue[] = []
  return {
    memory: new MessageMemory(1 << 30),
    deadLetters,
    removed,
    remove: (queue) => removed.push(queue),
    deadLetter: (queue, m, reason) => deadLetters.push({ queue: queue.name, body: m.body.toString(), reason }),
    failed: (_queue, err) => {
      throw err
    },
  }
}

export function testVhost(persistence?: VhostPersistence): Vhost {
  return new Vhost('/', capturingLogger().log, new MessageMemory(1 << 30), persistence)
}

/** Lets the queues' delivery loops (scheduled with process.nextTick) run. */
export function nextTick(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve))
}

/** The bodies of a queue's ready messages, taken with basic.get semantics (no ack). */
export function takeAll(queue: Queue): string[] {
  const bodies: string[] = []
  for (let e = queue.take(true); e; e = queue.take(true)) bodies.push(e.message.body.toString())
  return bodies
}
