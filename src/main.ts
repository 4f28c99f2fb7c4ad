#!/usr/bin/env node
// Wiring only: configuration (flags, environment, --config file) → server, management API and Prometheus;
// SIGTERM/SIGINT shut down cleanly.
import { parseConfig } from './config/config.js'
import { startHttpEndpoints } from './management/endpoints.js'
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
  // As RabbitMQ with its management and prometheus plugins: 15672 and 15692 unless turned off (none)
  const endpoints = await startHttpEndpoints(server, config).catch(async (err: unknown) => {
    await server.stop()
    throw err
  })
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    server.broker.log.info({ signal }, 'shutting down')
    Promise.all([endpoints.close(), server.stop()]).then(
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
