// The broker: users, virtual hosts and the settings every connection negotiates from. It is the one place
// that composes the model: each vhost is made with its definitions log and message store (none in memory
// mode), and hands its queues their stores as it makes them.
import { Permissions } from '../auth/permissions.js'
import { UserStore } from '../auth/users.js'
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
import { quarantineQueueDir } from '../store/quarantine.js'
import { Durability } from './durability.js'
import { recordCleanShutdown, redeliveredAfterRestart } from './clean-shutdown.js'
import { performance } from 'node:perf_hooks'
import { Vhost, type OpenQueueStore, type VhostPersistence } from './vhost.js'

/** The vhosts every broker has. */
const VHOSTS = ['/']

export class Broker {
  readonly users = new UserStore()
  /** Who may do what in which vhost (RabbitMQ's permissions and topic permissions) */
  readonly permissions = new Permissions()
  /** Made by open(), with what they keep on disk */
  readonly vhosts = new Map<string, Vhost>()
  /** Memory and disk: while any is set, connections that publish are blocked */
  readonly alarms: ResourceAlarms
  readonly memoryAlarm: MemoryAlarm
  readonly diskAlarm: DiskAlarm
  private definitions: DefinitionsLog | undefined
  private messageStore: MessageStore | undefined
  private dataDirLock: DataDirLock | undefined
  private readonly memory: MessageMemory

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
    this.memory = new MessageMemory(config.messageMemoryBudget)
    // As RabbitMQ's first start: the default user, administrator, with every permission on /
    this.users.add(config.defaultUser, config.defaultPass, ['administrator'])
    this.permissions.set(config.defaultUser, '/', { configure: '.*', write: '.*', read: '.*' })
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
      this.createVhosts()
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

  /** Makes the vhosts; without persistence (memory mode) they write nothing anywhere. */
  private createVhosts(persistence?: VhostPersistence): void {
    for (const name of VHOSTS) this.vhosts.set(name, new Vhost(name, this.log, this.memory, persistence))
  }

  private async restore(dataDir: string): Promise<void> {
    const definitions = new DefinitionsLog(dataDir, this.log)
    this.definitions = definitions
    const stored = definitions.open()
    const messageStore = new MessageStore(dataDir, this.log, this.storeOptions)
    this.messageStore = messageStore
    await messageStore.removeTrash()
    this.createVhosts({ record: (change) => definitions.record(change), durability: new Durability(messageStore) })
    const started = performance.now()
    let messages = 0
    const restored = new Set<string>()
    for (const vhost of this.vhosts.values()) {
      const openStore: OpenQueueStore = async (queue, push) => {
        const redelivered = await redeliveredAfterRestart(messageStore.queueDir(vhost.name, queue))
        const { store } = await messageStore.openQueue(vhost.name, queue, (m) => {
          push(m, redelivered(m.position))
          messages++
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
    const { applied } = importDefinitions(this.vhosts, this.config.definitionsFile)
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
      // With a damaged line in the log, even a recorded deletion may have been followed by a declaration
      if (removed.has(key) && stored.damagedLines === 0) {
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
    this.definitions?.close()
    this.dataDirLock?.release()
  }
}
