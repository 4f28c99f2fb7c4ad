// The broker: users, virtual hosts and the settings every connection negotiates from.
import { UserStore } from '../auth/users.js'
import type { Config } from '../config/config.js'
import type { Logger } from '../util/logger.js'
import { MemoryAlarm } from './memory-alarm.js'
import { Vhost } from './vhost.js'

export class Broker {
  readonly users = new UserStore()
  readonly vhosts = new Map<string, Vhost>()
  readonly memoryAlarm: MemoryAlarm

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    this.memoryAlarm = new MemoryAlarm(config.memoryHighWatermark)
    this.vhosts.set('/', new Vhost('/', log))
    // RabbitMQ's loopback_users: guest may only log in from the machine itself
    this.users.add(config.defaultUser, config.defaultPass, ['administrator'], config.defaultUser === 'guest')
  }
}
