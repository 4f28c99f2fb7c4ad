// The differential tests in CI: a private RabbitMQ node and Warren (as a child process) run the same fixed
// set of generated programs; every trace must match, and every operation kind must have run.
// `npm run test:differential` runs more, with any seed (docs/testing.md).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startBrokerProcess, stopAllBrokerProcesses } from '../helpers/broker-process.js'
import { formatFound, runDifferential, type Broker } from './harness.js'
import { OP_KINDS } from './program.js'
import { startRabbitMq, type RabbitMq } from './rabbitmq.js'

const SEED = 20261129
const PROGRAMS = 120

let rabbit: RabbitMq | undefined
let rabbitmq: Broker
let warren: Broker

before(async () => {
  const external = process.env['WARREN_DIFFERENTIAL_RABBITMQ']
  if (external) {
    rabbitmq = { name: 'RabbitMQ', url: external }
  } else {
    rabbit = await startRabbitMq()
    rabbitmq = { name: 'RabbitMQ', url: rabbit.url }
  }
  const child = await startBrokerProcess({ args: ['--consumer-timeout', '3600000'] })
  warren = { name: 'Warren', url: child.url }
})

after(async () => {
  await stopAllBrokerProcesses()
  await rabbit?.stop()
})

test(
  `${PROGRAMS} generated programs (seed ${SEED}) give the same traces on Warren as on RabbitMQ`,
  { timeout: 900_000 },
  async (t) => {
    const summary = await runDifferential({ seed: SEED, runs: PROGRAMS, expected: rabbitmq, actual: warren })
    t.diagnostic(
      `${summary.programs} programs, ${summary.operations} operations, ${summary.executions} runs, ` +
        `${(summary.elapsedMs / 1000).toFixed(0)} s`,
    )
    assert.deepEqual(summary.divergences.map(formatFound), [])
    const missing = OP_KINDS.filter((kind) => !summary.kinds.has(kind))
    assert.deepEqual(missing, [], 'every operation kind runs at least once')
  },
)
