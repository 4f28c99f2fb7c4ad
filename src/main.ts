#!/usr/bin/env node
// Wiring only: configuration (flags, environment, --config file) → server and the Prometheus endpoint;
// SIGTERM/SIGINT shut down cleanly.
import { parseConfig } from './config/config.js'
import { startPrometheusServer } from './management/prometheus.js'
import { startServer } from './server/start.js'

async function main(): Promise<void> {
  let config
  try {
    config = parseConfig(process.argv.slice(2), process.env)
  } catch (err) {
    console.error(`warren: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(2)
  }
  if ('help' in config) {
    console.log(config.help)
    return
  }
  if ('version' in config) {
    console.log(config.version)
    return
  }
  const server = await startServer(config)
  // As RabbitMQ with rabbitmq_prometheus enabled: /metrics on 15692 unless --prometheus-port none
  const prometheus =
    config.prometheusPort === undefined
      ? undefined
      : await startPrometheusServer(server.broker, { port: config.prometheusPort, host: config.bind }).catch(
          async (err: unknown) => {
            await server.stop()
            throw err
          },
        )
  if (prometheus) server.broker.log.info({ port: prometheus.port }, 'Prometheus metrics on /metrics')
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    server.broker.log.info({ signal }, 'shutting down')
    Promise.all([server.stop(), prometheus?.close()]).then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

main().catch((err: unknown) => {
  console.error(`warren: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})
