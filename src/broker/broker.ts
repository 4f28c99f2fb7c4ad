// The broker: users, virtual hosts and the settings every connection negotiates from. It is the one place
// that composes the model: each vhost is made with its definitions log and message store (none in memory
// mode), and hands its queues their stores as it makes them. Vhosts, users, permissions and limits are
// changed at run time through its operations (tenancy.ts), which the definitions import, the management
// API and the command line all call.
import { UserStore } from '../auth/users.js'
import { Permissions } from '../auth/permissions.js'
import type { Config } from '../config/config.js'
import type { Logger } from '../util/logger.js'
import { DataDirLock } from '../store/data-dir-lock.js'
import { DefinitionsLog, type StoredDefinitions } from '../store/definitions-log.js'
import { importDefinitions } from './definitions-file.js'
import { DiskAlarm } from './disk-alarm.js'
import { MemoryAlarm } from './memory-alarm.js'
import { ResourceAlarms } from './resource-alarms.js'
import { MessageMemory } from './message-memory.js'
import { MessageStore, type MessageStoreOptions } from '../store/message-store.js'
import { TransientPages } from '../store/transient-pages.js'
import { quarantineQueueDir } from '../store/quarantine.js'
import { Durability } from './durability.js'
import { recordCleanShutdown, redeliveredAfterRestart } from './clean-shutdown.js'
import { performance } from 'node:perf_hooks'
import { Vhost, type OpenQueueStore, type VhostMetadata, type VhostPersistence } from './vhost.js'
import { Limits } from './limits.js'
import { BrokerCounters, brokerTotals, type MessageTotals } from './stats.js'
import { Tenancy, type UserOptions, type VhostOptions } from './tenancy.js'
import type { Permission, TopicPermission } from '../auth/permissions.js'
import type { User } from '../auth/users.js'
import type { LimitsDefinition } from '../store/definitions-log.js'

export class Broker {
  readonly users = new UserStore()
  readonly permissions = new Permissions()
  /** Vhost and user limits, and the open connections counted against them */
  readonly limits = new Limits()
  /** Made by open(), with what they keep on disk; more are made and deleted at run time */
  readonly vhosts = new Map<string, Vhost>()
  /** The message counts of deleted vhosts; messageTotals() adds the living ones' (stats.ts) */
  readonly stats = new BrokerCounters()
  /** Vhosts, users, permissions and limits changed at run time, and persisted */
  readonly tenancy: Tenancy
  /** Memory and disk: while any is set, connections that publish are blocked */
  readonly alarms: ResourceAlarms
  readonly memoryAlarm: MemoryAlarm
  readonly diskAlarm: DiskAlarm
  private definitions: DefinitionsLog | undefined
  /** What each vhost made from now on is given to keep on disk (none in memory mode) */
  private persistence: VhostPersistence | undefined
  private messageStore: MessageStore | undefined
  private dataDirLock: DataDirLock | undefined
  /** Bytes of ready messages held in memory, against the budget; the page area of transient messages */
  readonly memory: MessageMemory

  constructor(
    readonly config: Config,
    readonly log: Logger,
    /** Options of the message store (tests inject file system faults through it) */
    private readonly storeOptions: MessageStoreOptions = {},
  ) {
    this.alarms = new ResourceAlarms(log)
    this.memoryAlarm = new MemoryAlarm(config.memoryHighWatermark, this.alarms, log)
    // Without a data directory nothing is written, so the alarm is never started (start.ts); '.' is a placeholder
    this.diskAlarm = new DiskAlarm(config.dataDir ?? '.', config.diskFreeLimit, this.alarms, log)
    // With a data directory, long queues page transient messages out past the budget (opened by restore)
    this.memory = new MessageMemory(
      config.messageMemoryBudget,
      config.dataDir === undefined ? null : new TransientPages(config.dataDir, log, storeOptions.transientPages),
    )
    this.tenancy = new Tenancy(this, (change) => this.definitions?.record(change))
  }

  // The run-time operations (tenancy.ts): each logged before it is made, refused if it cannot be
  createVhost = (name: string, options?: VhostOptions): Vhost => this.tenancy.createVhost(name, options)
  deleteVhost = (name: string): Promise<boolean> => this.tenancy.deleteVhost(name)
  putUser = (name: string, options?: UserOptions): User => this.tenancy.putUser(name, options)
  deleteUser = (name: string): boolean => this.tenancy.deleteUser(name)
  setPermission = (user: string, vhost: string, p: Permission): void => this.tenancy.setPermission(user, vhost, p)
  clearPermission = (user: string, vhost: string): boolean => this.tenancy.clearPermission(user, vhost)
  setTopicPermission = (user: string, vhost: string, tp: TopicPermission): void =>
    this.tenancy.setTopicPermission(user, vhost, tp)
  clearTopicPermission = (user: string, vhost: string, exchange?: string): void =>
    this.tenancy.clearTopicPermission(user, vhost, exchange)
  setVhostLimits = (vhost: string, limits: LimitsDefinition): void => this.tenancy.setVhostLimits(vhost, limits)
  setUserLimits = (user: string, limits: LimitsDefinition): void => this.tenancy.setUserLimits(user, limits)

  /** Every message counter summed over the broker, deleted queues and vhosts included */
  messageTotals(): MessageTotals {
    return brokerTotals(this.stats, this.vhosts.values())
  }

  /** A vhost as the broker makes them: with its persistence, metadata and queue limit. Not registered. */
  makeVhost(name: string, metadata: VhostMetadata): Vhost {
    return new Vhost(name, this.log, this.memory, this.persistence, metadata, (vhost, queue, queues) =>
      this.limits.checkQueue(vhost, queue, queues),
    )
  }

  /** Removes a deleted vhost's queue stores (its queues are deleted by Vhost.destroy). */
  async removeQueueStores(vhost: string): Promise<void> {
    const store = this.messageStore
    if (!store) return
    for (const q of await store.listQueues()) {
      if (q.vhost === vhost) await store.deleteQueue(vhost, q.queue)
    }
  }

  /**
   * Makes the vhosts and restores their durable definitions and the messages of durable queues from the
   * data directory, then imports the definitions file if any. Throws DataDirLockedError, before touching any
   * file, if another broker uses the data directory.
   */
  async open(): Promise<void> {
    const dataDir = this.config.dataDir
    // No data directory (the library's default): no lock, no definitions log, no message store. Durable
    // entities and persistent messages then live as long as the process, and confirms come at once.
    if (dataDir === undefined) {
      this.tenancy.createDefaults([])
      return this.importDefinitionsFile()
    }
    const lock = DataDirLock.acquire(dataDir, this.log)
    this.dataDirLock = lock
    try {
      await this.restore(dataDir)
    } catch (error) {
      this.dataDirLock = undefined
      lock.release()
      throw error
    }
  }

  private async restore(dataDir: string): Promise<void> {
    const definitions = new DefinitionsLog(dataDir, this.log)
    this.definitions = definitions
    const stored = definitions.open()
    const messageStore = new MessageStore(dataDir, this.log, this.storeOptions)
    this.messageStore = messageStore
    // What an earlier run paged out was transient: never read again
    this.memory.pages?.open()
    await messageStore.removeTrash()
    this.persistence = { record: (change) => definitions.record(change), durability: new Durability(messageStore) }
    // Vhosts, users and permissions before anything inside a vhost
    if (stored.vhosts.length === 0 && stored.users.length === 0) {
      // A fresh data directory, or a log written before vhosts and users were: the vhosts its entities name
      const named = [...stored.exchanges, ...stored.queues, ...stored.policies].map((d) => d.vhost)
      this.tenancy.createDefaults(named)
    } else this.tenancy.restore(stored)
    const started = performance.now()
    let messages = 0
    const restored = new Set<string>()
    for (const vhost of this.vhosts.values()) {
      const openStore: OpenQueueStore = async (queue, push) => {
        const redelivered = await redeliveredAfterRestart(messageStore.queueDir(vhost.name, queue))
        const { store } = await messageStore.openQueue(vhost.name, queue, {
          record: (fields, position) => {
            push(fields, position, redelivered(position))
            messages++
          },
        })
        return store
      }
      for (const queue of await vhost.restore(stored, openStore)) {
        restored.add(JSON.stringify([vhost.name, queue.name]))
      }
    }
    await this.setAsideUnknownStores(stored, restored)
    const ms = Math.round(performance.now() - started)
    this.log.info({ queues: restored.size, messages, ms }, 'durable state recovered')
    this.importDefinitionsFile()
  }

  private importDefinitionsFile(): void {
    if (!this.config.definitionsFile) return
    const { applied } = importDefinitions(this.tenancy, this.vhosts, this.config.definitionsFile, this.log)
    this.log.info({ file: this.config.definitionsFile, applied }, 'definitions file imported')
  }

  /**
   * Queue stores on disk that no definition claims. A queue whose deletion the log records (the crash came
   * before its directory was removed) is removed; any other is moved to the quarantine, never deleted: its
   * definition may have been lost to a damaged line, and its messages were confirmed.
   */
  private async setAsideUnknownStores(stored: StoredDefinitions, restored: Set<string>): Promise<void> {
    const store = this.messageStore!
    const removed = new Set(stored.removedQueues.map((q) => JSON.stringify([q.vhost, q.name])))
    for (const { vhost, queue } of await store.listQueues()) {
      const key = JSON.stringify([vhost, queue])
      if (restored.has(key)) continue
      // A vhost deleted before its queue stores were all removed (a crash in between) is finished now.
      // With a damaged line in the log, even a recorded deletion may have been followed by a declaration
      const deleted = removed.has(key) || (stored.removedVhosts.includes(vhost) && !this.vhosts.has(vhost))
      if (deleted && stored.damagedLines === 0) {
        await store.deleteQueue(vhost, queue)
        continue
      }
      try {
        const { movedTo, messages } = await quarantineQueueDir(store.dataDir, store.queueDir(vhost, queue), this.log)
        this.log.warn(
          { vhost, queue, messages, movedTo },
          'queue store without a definition (definitions.log damaged?): moved to the quarantine with its messages',
        )
      } catch (error) {
        this.log.error(
          {
            vhost,
            queue,
            dir: store.queueDir(vhost, queue),
            err: error instanceof Error ? error.message : String(error),
          },
          'queue store without a definition could not be moved to the quarantine; left in place',
        )
      }
    }
  }

  /** After the connections are closed: syncs the store and records which messages were delivered. */
  async close(): Promise<void> {
    this.memoryAlarm.stop()
    this.diskAlarm.stop()
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
    this.memory.pages?.close()
    this.definitions?.close()
    this.dataDirLock?.release()
  }
}
