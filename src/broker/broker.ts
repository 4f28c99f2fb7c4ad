// The broker: users, virtual hosts and the settings every connection negotiates from.
import { UserStore } from '../auth/users.js'
import type { Config } from '../config/config.js'
import type { Logger } from '../util/logger.js'
import { DefinitionsLog } from '../store/definitions-log.js'
import { importDefinitions } from './definitions-file.js'
import { MemoryAlarm } from './memory-alarm.js'
import { MessageMemory } from './message-memory.js'
import { MessageStore, type MessageStoreOptions } from '../store/message-store.js'
import { Durability } from './durability.js'
import { recordCleanShutdown, redeliveredAfterRestart } from './clean-shutdown.js'
import { performance } from 'node:perf_hooks'
import { Vhost } from './vhost.js'

export class Broker {
  readonly users = new UserStore()
  readonly vhosts = new Map<string, Vhost>()
  readonly memoryAlarm: MemoryAlarm
  private definitions: DefinitionsLog | undefined
  private messageStore: MessageStore | undefined

  constructor(
    readonly config: Config,
    readonly log: Logger,
    /** Options of the message store (tests inject file system faults through it) */
    private readonly storeOptions: MessageStoreOptions = {},
  ) {
    this.memoryAlarm = new MemoryAlarm(config.memoryHighWatermark)
    this.vhosts.set('/', new Vhost('/', log, new MessageMemory(config.messageMemoryBudget)))
    // RabbitMQ's loopback_users: guest may only log in from the machine itself
    this.users.add(config.defaultUser, config.defaultPass, ['administrator'], config.defaultUser === 'guest')
  }

  /**
   * Restores durable definitions and the messages of durable queues from the data directory, then imports
   * the definitions file if any.
   */
  async open(): Promise<void> {
    const definitions = new DefinitionsLog(this.config.dataDir, this.log)
    this.definitions = definitions
    const stored = definitions.open()
    this.messageStore = new MessageStore(this.config.dataDir, this.log, this.storeOptions)
    await this.messageStore.removeTrash()
    const durability = new Durability(this.messageStore)
    const started = performance.now()
    let messages = 0
    const restored = new Set<string>()
    for (const vhost of this.vhosts.values()) {
      const queues = vhost.restore(stored)
      vhost.record = (change) => definitions.record(change)
      vhost.durability = durability
      for (const queue of queues) {
        const redelivered = await redeliveredAfterRestart(this.messageStore.queueDir(vhost.name, queue.name))
        const { store } = await this.messageStore.openQueue(vhost.name, queue.name, (m) => {
          queue.recoverMessage(m, redelivered(m.position))
          messages++
        })
        queue.store = store
        restored.add(JSON.stringify([vhost.name, queue.name]))
      }
    }
    // Stores left by queues whose deletion was not recorded before a crash
    for (const { vhost, queue } of await this.messageStore.listQueues()) {
      if (!restored.has(JSON.stringify([vhost, queue]))) await this.messageStore.deleteQueue(vhost, queue)
    }
    const ms = Math.round(performance.now() - started)
    this.log.info({ queues: restored.size, messages, ms }, 'durable state recovered')
    if (this.config.definitionsFile) {
      const { applied } = importDefinitions(this, this.config.definitionsFile)
      this.log.info({ file: this.config.definitionsFile, applied }, 'definitions file imported')
    }
  }

  /** After the connections are closed: syncs the store and records which messages were delivered. */
  async close(): Promise<void> {
    this.memoryAlarm.stop()
    if (this.messageStore) {
      await this.messageStore.flush().catch(() => {})
      for (const vhost of this.vhosts.values()) {
        for (const queue of vhost.queues.values()) {
          // Without the record every recovered message is flagged redelivered, which is safe: not fatal
          if (queue.store) {
            await recordCleanShutdown(queue).catch((err: unknown) => {
              this.log.warn({ queue: queue.name, err }, 'cannot record which messages were delivered')
            })
          }
        }
      }
      await this.messageStore.close()
    }
    this.definitions?.close()
  }
}
