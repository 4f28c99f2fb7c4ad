// Every divergence the differential tests found, replayed against Warren: the shrunk program must give the
// trace RabbitMQ gave (recorded in test/differential/regressions/*.json). With WARREN_TEST_URL pointing at
// RabbitMQ, the same tests check that the recorded traces still hold there.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import { loadRegressions } from './regressions.js'
import { ProgramRunner, runPrefix } from './runner.js'
import { describeDivergence, firstDivergence, normalise } from './trace.js'

let broker: TestBroker
before(async () => {
  broker = await startBroker()
})
after(async () => {
  await broker.stop()
})

for (const { name, regression } of loadRegressions()) {
  test(`${name}: ${regression.title}`, { timeout: 60_000 }, async () => {
    const prefix = runPrefix()
    const { trace } = await new ProgramRunner(broker.url, prefix).run(regression.program)
    const divergence = firstDivergence(regression.rabbitmq, normalise(trace, prefix))
    assert.equal(divergence, undefined, divergence && describeDivergence(divergence, 'RabbitMQ', 'this broker'))
  })
}
