// What connection.start tells a client about us. Capabilities are advertised only once they work.
import { hostname } from 'node:os'
import type { FieldTable } from '../protocol/field-value.js'

export const VERSION = '0.1.0'

export function serverProperties(): FieldTable {
  return {
    product: 'Warren',
    version: VERSION,
    platform: `Node.js ${process.version}`,
    copyright: 'Copyright (c) the Warren authors',
    information: 'An AMQP 0-9-1 broker compatible with RabbitMQ clients. Licensed under the MIT license.',
    cluster_name: `warren@${hostname()}`,
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
  }
}
