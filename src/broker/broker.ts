// The broker: users, virtual hosts and the settings every connection negotiates from.
import { UserStore } from '../auth/users.js'
import type { Config } from '../config/config.js'
import type { Logger } from '../util/logger.js'
import { DefinitionsLog } from '../store/definitions-log.js'
import { importDefinitions } from './definitions-file.js'
import { MemoryAlarm } from './memory-alarm.js'
import { Vhost } from './vhost.js'

export class Broker {
  readonly users = new UserStore()
  readonly vhosts = new Map<string, Vhost>()
  readonly memoryAlarm: MemoryAlarm
  private definitions: DefinitionsLog | undefined

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    this.memoryAlarm = new MemoryAlarm(config.memoryHighWatermark)
    this.vhosts.set('/', new Vhost('/', log))
    // RabbitMQ's loopback_users: guest may only log in from the machine itself
    this.users.add(config.defaultUser, config.defaultPass, ['administrator'], config.defaultUser === 'guest')
  }

  /** Restores durable definitions from the data directory, then imports the definitions file if any. */
  open(): void {
    const definitions = new DefinitionsLog(this.config.dataDir, this.log)
    this.definitions = definitions
    const stored = definitions.open()
    for (const vhost of this.vhosts.values()) {
      const queues = vhost.restore(stored)
      vhost.record = (change) => definitions.record(change)
      if (queues.length > 0) this.log.info({ vhost: vhost.name, queues: queues.length }, 'durable queues restored')
    }
    if (this.config.definitionsFile) {
      const { applied } = importDefinitions(this, this.config.definitionsFile)
      this.log.info({ file: this.config.definitionsFile, applied }, 'definitions file imported')
    }
  }

  close(): void {
    this.memoryAlarm.stop()
    this.definitions?.close()
  }
}
