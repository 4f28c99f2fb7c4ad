// The HTTP endpoints as the command line and the library start them: the management API and Prometheus
// next to the AMQP listener, each on its own port, each closed with the broker.
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { after, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker } from '../../src/index.js'
import { sleep } from '../helpers/amqplib.js'
import { GUEST } from '../helpers/management-http.js'
import { startBrokerProcess, stopAllBrokerProcesses, type BrokerProcess } from '../helpers/broker-process.js'

const T = { timeout: 30_000 }
const AUTH = { authorization: GUEST }

after(stopAllBrokerProcesses)

/** The port a log line reports, once the broker has printed it (generous bound: only a failure waits) */
async function loggedPort(broker: BrokerProcess, msg: string): Promise<number> {
  for (let waited = 0; waited < 10_000; waited += 20) {
    const line = broker.logs().find((l) => l.msg === msg)
    if (typeof line?.['port'] === 'number') return line['port']
    await sleep(20)
  }
  throw new Error(`no '${msg}' line in the broker's log`)
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.once('error', () => resolve(false))
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
  })
}

test('the command line serves the management API and /metrics on their ports', T, async () => {
  const broker = await startBrokerProcess({ args: ['--management-port', '0', '--prometheus-port', '0'] })
  const apiPort = await loggedPort(broker, 'management API listening')
  const metricsPort = await loggedPort(broker, 'Prometheus metrics on /metrics')
  const conn = await amqp.connect(broker.url)
  try {
    const overview = (await (await fetch(`http://127.0.0.1:${apiPort}/api/overview`, { headers: AUTH })).json()) as {
      listeners: { protocol: string; port: number }[]
      object_totals: { connections: number }
    }
    assert.deepEqual(
      overview.listeners.map((l) => [l.protocol, l.port]),
      [
        ['amqp', broker.port],
        ['http', apiPort],
      ],
    )
    assert.equal(overview.object_totals.connections, 1)
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    assert.match(metrics, /^rabbitmq_connections 1$/m)
  } finally {
    await conn.close()
  }
  await broker.stop()
  assert.ok(await portIsFree(apiPort), 'the API port is free after the broker stopped')
  assert.ok(await portIsFree(metricsPort), 'the metrics port is free after the broker stopped')
})

test('the library opens the HTTP endpoints only when asked, and close() frees them', T, async () => {
  const plain = await startBroker({ port: 0, logLevel: 'silent' })
  assert.equal(plain.managementPort, undefined)
  assert.equal(plain.prometheusPort, undefined)
  await plain.close()

  const broker = await startBroker({ port: 0, logLevel: 'silent', managementPort: 0, prometheusPort: 0 })
  const apiPort = broker.managementPort!
  const metricsPort = broker.prometheusPort!
  const whoami = (await (await fetch(`http://127.0.0.1:${apiPort}/api/whoami`, { headers: AUTH })).json()) as {
    name: string
  }
  assert.equal(whoami.name, 'guest')
  assert.match(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(), /^rabbitmq_queues 0$/m)
  await broker.close()
  assert.ok(await portIsFree(apiPort))
  assert.ok(await portIsFree(metricsPort))
})
