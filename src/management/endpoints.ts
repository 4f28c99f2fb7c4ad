// The HTTP endpoints next to a running AMQP server, as RabbitMQ's plugins add them: the management API
// (config.managementPort, RabbitMQ's 15672) and Prometheus metrics (config.prometheusPort, 15692). Either
// is off when its port is undefined. Used by the command line and the library alike.
import type { Config } from '../config/config.js'
import type { RunningServer } from '../server/start.js'
import { startManagementServer, type ManagementServer } from './api/server.js'
import { startPrometheusServer, type PrometheusServer } from './prometheus.js'

export interface HttpEndpoints {
  readonly managementPort: number | undefined
  readonly prometheusPort: number | undefined
  close(): Promise<void>
}

/** Starts the endpoints the config asks for; if one cannot listen, those started are closed and it throws. */
export async function startHttpEndpoints(server: RunningServer, config: Config): Promise<HttpEndpoints> {
  let management: ManagementServer | undefined
  let prometheus: PrometheusServer | undefined
  const close = async () => {
    await Promise.all([management?.close(), prometheus?.close()])
  }
  try {
    if (config.managementPort !== undefined) {
      management = await startManagementServer(server.broker, () => server.connections, {
        port: config.managementPort,
        host: config.bind,
        amqpPort: server.port,
      })
    }
    if (config.prometheusPort !== undefined) {
      prometheus = await startPrometheusServer(server.broker, {
        port: config.prometheusPort,
        host: config.bind,
        connections: () => server.connections,
      })
      server.broker.log.info({ port: prometheus.port }, 'Prometheus metrics on /metrics')
    }
  } catch (error) {
    await close()
    throw error
  }
  return { managementPort: management?.port, prometheusPort: prometheus?.port, close }
}
