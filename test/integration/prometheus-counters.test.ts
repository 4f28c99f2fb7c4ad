// The values of rabbitmq_auth_attempts_* and rabbitmq_global_messages_dead_lettered_*: the same amqplib
// session runs on Warren and on a RabbitMQ 3.10.8 node (Debian's rabbitmq-server, with rabbitmq_prometheus),
// and both must show the counts written here: logins refused and accepted (a mechanism not offered is no
// attempt; a vhost refused after the login is a successful one), and messages that died by TTL, rejection
// and length limit, dead-lettered to an existing exchange (dead_letter_strategy at_most_once) or dropped
// (disabled: no dead-letter exchange, or one that does not exist). A requeue, a purge and a queue's deletion
// are not deaths.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import amqp from 'amqplib'
import { startBroker, type WarrenBroker } from '../../src/index.js'
import { startRabbitMq, type RabbitMq } from '../differential/rabbitmq.js'
import { samplesWith, scrape, type Family } from '../helpers/prometheus-text.js'
import { AMQP_0_9_1_HEADER, RawClient, methodFrame, plainResponse } from '../helpers/raw-client.js'

const T = { timeout: 120_000 }

let rabbit: RabbitMq | undefined
let warren: WarrenBroker | undefined
const connections: amqp.ChannelModel[] = []
after(async () => {
  for (const c of connections) await c.close().catch(() => undefined)
  await warren?.close()
  await rabbit?.stop()
})

/** The samples of a family whose labels include `labels` (in any order), summed; undefined if none */
function sampled(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesWith(families, name, labels)
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0)
}

async function connect(url: string, options?: Parameters<typeof amqp.connect>[1]): Promise<amqp.ChannelModel> {
  const conn = await amqp.connect(url, options)
  connections.push(conn)
  return conn
}

/** connection.start-ok from a raw socket; resolves once the server has closed it (silently, after 3 s) */
async function rawLogin(port: number, mechanism: string, response: Buffer): Promise<void> {
  const c = await RawClient.connect(port)
  const startOk = { name: 'connection.start-ok', clientProperties: {}, mechanism, response, locale: 'en_US' } as const
  c.write(Buffer.concat([AMQP_0_9_1_HEADER, methodFrame(0, startOk)]))
  await c.closed
}

/**
 * The logins: 6 refused (one of them a malformed response), 3 accepted (one of them then refused a vhost),
 * and one with a mechanism the server did not offer (no attempt: refused before any login)
 */
async function logins(url: string, port: number): Promise<void> {
  const wrong = url.replace('guest:guest@', 'guest:wrong@')
  for (let i = 0; i < 3; i++) await assert.rejects(amqp.connect(wrong), /ACCESS.REFUSED/)
  await assert.rejects(amqp.connect(url.replace('guest:guest@', 'nobody:guest@')), /ACCESS.REFUSED/)
  const amqplain = (password: string) => ({ credentials: amqp.credentials.amqplain('guest', password) })
  await assert.rejects(amqp.connect(url, amqplain('wrong')), /ACCESS.REFUSED/)
  await Promise.all([
    rawLogin(port, 'WARREN-UNKNOWN', plainResponse('guest', 'guest')),
    rawLogin(port, 'PLAIN', Buffer.from('guest')),
  ])
  await assert.rejects(amqp.connect(`${url}/no-such-vhost`))
  await connect(url, amqplain('guest'))
  await connect(url)
}

/** Messages that die, and some that leave their queue without dying */
async function deaths(url: string): Promise<void> {
  const conn = await connect(url)
  const ch = await conn.createConfirmChannel()
  await ch.assertExchange('dlx', 'fanout', { durable: false })
  await ch.assertQueue('dead', { durable: false })
  await ch.bindQueue('dead', 'dlx', '')
  const dlx = { 'x-dead-letter-exchange': 'dlx' }
  const declare = (name: string, args: Record<string, unknown>) =>
    ch.assertQueue(name, { durable: false, arguments: args })
  await declare('ttl-dlx', { 'x-message-ttl': 0, ...dlx })
  await declare('ttl-none', {})
  await declare('max-dlx', { 'x-max-length': 1, ...dlx })
  await declare('max-none', { 'x-max-length': 1 })
  await declare('max-reject-dlx', { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', ...dlx })
  await declare('rej-dlx', dlx)
  await declare('rej-none', {})
  await declare('rej-missing', { 'x-dead-letter-exchange': 'no-such-exchange' })
  await declare('gone', dlx)
  const send = (queue: string, n: number, options?: amqp.Options.Publish) => {
    for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`${queue}-${i}`), options)
  }
  send('ttl-dlx', 2) // expired, dead-lettered: 2
  send('ttl-none', 1, { expiration: '0' }) // expired, dropped: 1
  send('max-dlx', 3) // maxlen, dead-lettered: 2
  send('max-none', 4) // maxlen, dropped: 3
  send('max-reject-dlx', 3) // maxlen, dead-lettered: 2 (and nacked)
  send('rej-dlx', 1)
  send('rej-none', 3)
  send('rej-missing', 1)
  send('gone', 4)
  // the refused publishes are nacked; every confirm is in once this settles
  await assert.rejects(ch.waitForConfirms())

  const take = async (queue: string) => {
    const m = await ch.get(queue)
    assert.ok(m, `a message in ${queue}`)
    return m
  }
  ch.nack(await take('rej-dlx'), false, false) // rejected, dead-lettered: 1
  ch.reject(await take('rej-none'), false) // rejected, dropped: 2
  ch.nack(await take('rej-none'), false, false)
  ch.nack(await take('rej-missing'), false, false) // rejected, dropped (the exchange does not exist): 1
  ch.nack(await take('rej-none'), false, true) // requeued: no death
  // A get after the settles: in RabbitMQ the queue has taken them by then (one channel, one queue, in order)
  assert.ok(await ch.get('rej-none'))
  assert.equal(await ch.get('rej-dlx'), false)
  assert.equal(await ch.get('rej-missing'), false)
  await ch.purgeQueue('max-none')
  await ch.deleteQueue('gone')
  assert.equal((await ch.checkQueue('dead')).messageCount, 2 + 2 + 2 + 1)
}

test('auth attempts and dead-lettered messages are counted as RabbitMQ 3.10 counts them', T, async () => {
  ;[rabbit, warren] = await Promise.all([
    startRabbitMq({ plugins: ['rabbitmq_prometheus'] }),
    startBroker({ port: 0, logLevel: 'silent', prometheusPort: 0 }),
  ])
  const brokers = [
    { name: 'RabbitMQ', url: rabbit.url, amqpPort: rabbit.port, port: rabbit.prometheusPort! },
    { name: 'Warren', url: warren.url, amqpPort: warren.port, port: warren.prometheusPort! },
  ]
  for (const { name, port } of brokers) {
    const boot = await scrape(port)
    // no sample before the first login; dead letters start at 0
    for (const family of ['total', 'succeeded_total', 'failed_total']) {
      assert.equal(sampled(boot, `rabbitmq_auth_attempts_${family}`), undefined, `${name}: ${family} at boot`)
    }
    assert.equal(sampled(boot, 'rabbitmq_global_messages_dead_lettered_expired_total'), 0, name)
  }
  await Promise.all(brokers.map(({ url, amqpPort }) => logins(url, amqpPort)))
  await Promise.all(brokers.map(({ url }) => deaths(url)))

  for (const { name, port } of brokers) {
    const families = await scrape(port)
    const amqp091 = { protocol: 'amqp091' }
    // the logins' 3 accepted and 6 refused, and deaths()'s connection
    assert.equal(sampled(families, 'rabbitmq_auth_attempts_total', amqp091), 10, `${name}: attempts`)
    assert.equal(sampled(families, 'rabbitmq_auth_attempts_succeeded_total', amqp091), 4, `${name}: succeeded`)
    assert.equal(sampled(families, 'rabbitmq_auth_attempts_failed_total', amqp091), 6, `${name}: failed`)
    const classic = { queue_type: 'rabbit_classic_queue' }
    for (const [reason, deadLettered, dropped] of [
      ['expired', 2, 1],
      ['rejected', 1, 3],
      ['maxlen', 4, 3],
    ] as const) {
      const family = `rabbitmq_global_messages_dead_lettered_${reason}_total`
      const at = (strategy: string) => sampled(families, family, { ...classic, dead_letter_strategy: strategy })
      assert.deepEqual([at('at_most_once'), at('disabled')], [deadLettered, dropped], `${name}: ${reason}`)
    }
    // quorum queues' own: never counted (Warren has none)
    assert.equal(sampled(families, 'rabbitmq_global_messages_dead_lettered_delivery_limit_total'), 0, name)
    assert.equal(sampled(families, 'rabbitmq_global_messages_dead_lettered_confirmed_total'), 0, name)

    // /metrics/detailed: the same logins; by source only when RabbitMQ's track_auth_attempt_source is on
    const detailed = await scrape(
      port,
      '/metrics/detailed?family=auth_attempt_metrics&family=auth_attempt_detailed_metrics',
    )
    assert.equal(sampled(detailed, 'rabbitmq_detailed_auth_attempts_failed_total', amqp091), 6, `${name}: detailed`)
    for (const family of ['total', 'succeeded_total', 'failed_total']) {
      const bySource = `rabbitmq_detailed_auth_attempts_detailed_${family}`
      assert.equal(sampled(detailed, bySource), undefined, `${name}: ${bySource}`)
    }
  }
})
