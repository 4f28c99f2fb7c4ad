// The management API's rate history, as RabbitMQ answers `?msg_rates_age=&msg_rates_incr=` (and lengths_*,
// data_rates_*): `publish_details: {rate, avg, avg_rate, samples: [{sample, timestamp}]}`, newest first, on
// multiples of incr (shape checked against RabbitMQ 3.10.8 with a private node). The values are checked
// twice: exactly, with a known publish pattern fed to the sampler at chosen times, and through HTTP with
// messages published over AMQP.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import amqp from 'amqplib'
import type { InProcessBroker } from '../helpers/broker.js'
import type { ManagementServer } from '../../src/management/api/server.js'
import {
  historyScope,
  keptSamples,
  SAMPLE_INTERVAL_MS,
  withHistory,
  withRates,
  type RateHistory,
} from '../../src/management/api/rates.js'
import { apiClient, startBrokerWithApi, type Body } from '../helpers/management-http.js'

const HISTORY =
  '?lengths_age=600&lengths_incr=5&msg_rates_age=600&msg_rates_incr=5&data_rates_age=600&data_rates_incr=5'

function assertShape(details: Body, incr: number): asserts details is RateHistory {
  assert.deepEqual(Object.keys(details).sort(), ['avg', 'avg_rate', 'rate', 'samples'])
  assert.ok(details.samples.length >= 1)
  let previous = Infinity
  for (const s of details.samples) {
    assert.deepEqual(Object.keys(s).sort(), ['sample', 'timestamp'])
    assert.equal(s.timestamp % (incr * 1000), 0, 'timestamps fall on multiples of incr')
    assert.ok(s.timestamp < previous, 'newest first')
    previous = s.timestamp
  }
}

describe('management API: rate history (samples)', () => {
  let broker: InProcessBroker
  let api: ManagementServer
  let base: string
  const call = apiClient(() => base)

  before(async () => {
    ;({ broker, api, base } = await startBrokerWithApi())
  })

  after(async () => {
    await api?.close()
    await broker?.stop()
  })

  test('a counter published at 10 a second for 20 s: samples, avg and avg_rate follow it exactly', () => {
    const key = {}
    const T0 = 1_700_000_000_000 // a multiple of 5 s
    const scope = historyScope(new URLSearchParams('msg_rates_age=15&msg_rates_incr=5'), true)
    const read = (seconds: number, publish: number) =>
      withHistory(scope, () => withRates(key, { publish }, T0 + seconds * 1000))
    for (let s = 0; s <= 15; s += 5) read(s, s * 10)
    const answer = read(20, 200)
    const details = answer['publish_details'] as RateHistory
    assertShape(details, 5)
    assert.deepEqual(
      details.samples,
      [200, 150, 100, 50].map((sample, i) => ({ sample, timestamp: T0 + 20_000 - i * 5000 })),
    )
    assert.equal(details.avg, 125)
    assert.equal(details.avg_rate, 10)
    assert.equal(details.rate, 10)
    // Between kept values (every 5 s) a 1 s increment reads a straight line
    const fine = withHistory(historyScope(new URLSearchParams('msg_rates_age=3&msg_rates_incr=1'), false), () =>
      withRates(key, { publish: 200 }, T0 + 20_000),
    )
    assert.deepEqual(
      (fine['publish_details'] as RateHistory).samples.map((s) => s.sample),
      [200, 190, 180, 170],
    )
    // Without the parameters: RabbitMQ's plain {rate}
    assert.deepEqual(withRates(key, { publish: 200 }, T0 + 20_000)['publish_details'], { rate: 10 })
  })

  test('an object nobody asked about keeps no history: a list answers its current value alone', () => {
    const key = {}
    const list = historyScope(new URLSearchParams('msg_rates_age=60&msg_rates_incr=5'), false)
    for (let s = 0; s <= 20; s += 5)
      withHistory(list, () => withRates(key, { publish: s }, 1_700_000_000_000 + s * 1000))
    const details = withHistory(list, () => withRates(key, { publish: 25 }, 1_700_000_025_000))['publish_details']
    assert.deepEqual((details as RateHistory).samples, [{ sample: 25, timestamp: 1_700_000_025_000 }])
  })

  test('over HTTP: a queue, an exchange, a vhost and the overview answer samples as RabbitMQ', async () => {
    const conn = await amqp.connect(broker.url)
    try {
      const ch = await conn.createConfirmChannel()
      await ch.assertQueue('history.q')
      await ch.assertExchange('history.x', 'fanout')
      await ch.bindQueue('history.q', 'history.x', '')
      const first = (await call('GET', '/api/queues/%2F/history.q' + HISTORY)).json
      assertShape(first.messages_details, 5)
      assert.equal(first.messages_details.samples[0].sample, 0)
      for (let i = 0; i < 7; i++) ch.publish('history.x', '', Buffer.from(`m${i}`))
      await ch.waitForConfirms()
      const queue = (await call('GET', '/api/queues/%2F/history.q' + HISTORY)).json
      for (const field of ['messages_details', 'messages_ready_details', 'messages_unacknowledged_details']) {
        assertShape(queue[field], 5)
      }
      assert.equal(queue.messages_details.samples[0].sample, 7)
      assert.equal(queue.messages_unacknowledged_details.samples[0].sample, 0)
      assertShape(queue.message_stats.publish_details, 5)
      assert.equal(queue.message_stats.publish_details.samples[0].sample, 7)
      const exchange = (await call('GET', '/api/exchanges/%2F/history.x' + HISTORY)).json
      assertShape(exchange.message_stats.publish_in_details, 5)
      assert.equal(exchange.message_stats.publish_in_details.samples[0].sample, 7)
      const vhost = (await call('GET', '/api/vhosts/%2F' + HISTORY)).json
      assertShape(vhost.messages_details, 5)
      assertShape(vhost.message_stats.publish_details, 5)
      assertShape(vhost.recv_oct_details, 5)
      const overview = (await call('GET', '/api/overview' + HISTORY)).json
      assertShape(overview.queue_totals.messages_details, 5)
      assert.equal(overview.queue_totals.messages_details.samples[0].sample, 7)
      assertShape(overview.message_stats.publish_details, 5)
      assert.equal(overview.message_stats.publish_details.samples[0].sample, 7)
      assertShape(overview.churn_rates.queue_created_details, 5)
      // The lists too, and without the parameters nothing but {rate}
      const listed = ((await call('GET', '/api/queues/%2F' + HISTORY)).json as Body[]).find(
        (q) => q.name === 'history.q',
      )
      assertShape(listed.messages_details, 5)
      const plain = (await call('GET', '/api/queues/%2F/history.q')).json
      assert.deepEqual(Object.keys(plain.messages_details), ['rate'])
    } finally {
      await conn.close()
    }
  })

  test("the broker's 5 s timer samples a watched queue by itself, with nobody reading it", async () => {
    const conn = await amqp.connect(broker.url)
    try {
      const ch = await conn.createChannel()
      await ch.assertQueue('watched-alone')
      // Asking for the queue's history once (its page opening) puts it on the timer's list. (Last in this
      // file: its publishes would show in the vhost's and overview's counts the test above checks.)
      const asked = await call('GET', `/api/queues/%2F/watched-alone${HISTORY}`)
      assert.equal(asked.status, 200)
      for (let i = 0; i < 3; i++) ch.sendToQueue('watched-alone', Buffer.from(String(i)))
      await ch.checkQueue('watched-alone')
      const queue = broker.broker.vhosts.get('/')!.queues.get('watched-alone')!
      // No API call from here on: only the timer can add to the ring. Bounded wait for two of its samples
      // taken after the publishes (about 10 s); the bound is a failure, not the measure.
      const afterPublish = () => keptSamples(queue.stats).filter((s) => s.values['publish'] === 3)
      const deadline = Date.now() + 6 * SAMPLE_INTERVAL_MS
      while (afterPublish().length < 2) {
        assert.ok(Date.now() < deadline, `the timer took ${afterPublish().length} samples of the queue`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const [a, b] = afterPublish()
      assert.ok(b!.at - a!.at >= SAMPLE_INTERVAL_MS * 0.9, 'one sample per interval')
      // And the API still answers (the grid may have one sample or two: the ring spans about 5 s)
      const later = await call('GET', `/api/queues/%2F/watched-alone${HISTORY}`)
      const publish = later.json.message_stats.publish_details
      assertShape(publish, 5)
      assert.equal(publish.samples[0]!.sample, 3)
    } finally {
      await conn.close()
    }
  })
})
