// Runs the RabbitMQ-extension examples in examples/ (TypeScript with amqplib, Python with pika) against
// the broker and checks what they print: RPC with direct reply-to (rpc_client_direct_reply against the
// tutorial's rpc_server) and retry with delay built from a queue TTL and dead-lettering (retry_publish /
// retry_worker). Each runs with every producer/consumer language pair. The examples use fixed queue and
// exchange names, so the tests run one at a time.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import amqp, { type Channel, type ChannelModel } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import { ExamplePrograms, LANGUAGE_PAIRS, type Lang } from '../helpers/examples.js'
import type { SpawnedProcess } from '../helpers/spawn-wait.js'

const PAIRS = LANGUAGE_PAIRS
const QUEUES = ['rpc_queue', 'work_queue', 'work_retry_5s', 'work_failed']
const EXCHANGES = ['work', 'retry']
// The retry queue's TTL for the tests (the examples default to 5 s)
const RETRY_DELAY_MS = 200

let broker: TestBroker
let connection: ChannelModel
let channel: Channel
const programs = new ExamplePrograms((exitAfter) => env(exitAfter))

function env(exitAfter?: number): Record<string, string> {
  return {
    AMQP_URL: broker.url,
    RETRY_DELAY_MS: String(RETRY_DELAY_MS),
    ...(exitAfter !== undefined ? { EXAMPLE_EXIT_AFTER: String(exitAfter) } : {}),
  }
}

const start = (lang: Lang, program: string, exitAfter: number): Promise<SpawnedProcess> =>
  programs.start(lang, program, [], exitAfter)
const run = (lang: Lang, program: string, args: string[] = []): Promise<string[]> => programs.run(lang, program, args)
const finish = (proc: SpawnedProcess): Promise<string[]> => programs.finish(proc)

async function deleteAll(): Promise<void> {
  for (const queue of QUEUES) await channel.deleteQueue(queue)
  for (const exchange of EXCHANGES) await channel.deleteExchange(exchange)
}

async function messageCount(queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount
}

before(async () => {
  broker = await startBroker()
  connection = await amqp.connect(broker.url)
  channel = await connection.createChannel()
})

beforeEach(deleteAll)

afterEach(async () => {
  programs.killAll()
  await deleteAll()
})

after(async () => {
  await connection?.close()
  await broker?.stop()
})

describe('RPC with direct reply-to (rpc_client_direct_reply / rpc_server)', () => {
  for (const [producer, consumer] of PAIRS) {
    test(`${producer} rpc_client_direct_reply x2 -> ${consumer} rpc_server`, async () => {
      const server = await start(consumer, 'rpc_server', 3)
      // Two clients at once, one of them with two requests over the same pseudo-queue consumer
      const [first, second] = await Promise.all([
        run(producer, 'rpc_client_direct_reply', ['10', '20']),
        run(producer, 'rpc_client_direct_reply', ['15']),
      ])
      assert.deepEqual(first, [' [x] Requesting fib(10)', ' [.] Got 55', ' [x] Requesting fib(20)', ' [.] Got 6765'])
      assert.deepEqual(second, [' [x] Requesting fib(15)', ' [.] Got 610'])
      const output = await finish(server)
      assert.equal(output[0], ' [x] Awaiting RPC requests')
      assert.deepEqual(output.slice(1).sort(), [' [.] fib(10)', ' [.] fib(15)', ' [.] fib(20)'])
      // The replies went straight to the clients: nothing was left anywhere
      assert.equal(await messageCount('rpc_queue'), 0)
    })
  }

  for (const lang of ['ts', 'py'] as const) {
    test(`${lang} rpc_client_direct_reply: the server sees a reply_to rewritten by the broker`, async () => {
      await channel.assertQueue('rpc_queue', { durable: false })
      const seen: Array<string | undefined> = []
      const { consumerTag } = await channel.consume('rpc_queue', (msg) => {
        if (!msg) return
        seen.push(msg.properties.replyTo as string | undefined)
        // Answer like rpc_server: through the default exchange to whatever reply_to says
        channel.sendToQueue(msg.properties.replyTo as string, Buffer.from('42'), {
          correlationId: msg.properties.correlationId as string,
        })
        channel.ack(msg)
      })
      // The client asks for fib(30) by default, and believes the test's answer
      assert.deepEqual(await run(lang, 'rpc_client_direct_reply'), [' [x] Requesting fib(30)', ' [.] Got 42'])
      await channel.cancel(consumerTag)
      assert.equal(seen.length, 1)
      // Not the pseudo-queue's own name: the broker's name for the client's channel
      assert.match(seen[0] ?? '', /^amq\.rabbitmq\.reply-to\..+/)
    })
  }
})

describe('retry with delay (retry_publish / retry_worker)', () => {
  const attempt = (job: string, n: number) =>
    ` [x] Processing '${job}' attempt ${n}${n > 1 ? ` (x-death count ${n - 1})` : ''}`
  const retrying = ` [!] Failed, retrying in ${RETRY_DELAY_MS / 1000}s`

  for (const lang of ['ts', 'py'] as const) {
    test(`${lang} retry_publish declares the topology and publishes a persistent job`, async () => {
      assert.deepEqual(await run(lang, 'retry_publish', ['a', 'job']), [" [x] Sent 'a job'"])
      assert.equal(await messageCount('work_queue'), 1)
      assert.equal(await messageCount('work_retry_5s'), 0)
      assert.equal(await messageCount('work_failed'), 0)
      const msg = await channel.get('work_queue', { noAck: true })
      assert.ok(msg)
      assert.equal(msg.content.toString(), 'a job')
      assert.equal(msg.fields.exchange, 'work')
      assert.equal(msg.fields.routingKey, 'job')
      assert.equal(msg.properties.deliveryMode, 2)
      // The declarations match the documented arguments (a mismatch would close the channel)
      await channel.assertQueue('work_queue', { durable: true, deadLetterExchange: 'retry' })
      await channel.assertQueue('work_retry_5s', {
        durable: true,
        messageTtl: RETRY_DELAY_MS,
        deadLetterExchange: 'work',
      })
    })
  }

  for (const [producer, consumer] of PAIRS) {
    test(`${producer} retry_publish 'ok' -> ${consumer} retry_worker: done on the first attempt`, async () => {
      const worker = await start(consumer, 'retry_worker', 1)
      assert.deepEqual(await run(producer, 'retry_publish', ['ok']), [" [x] Sent 'ok'"])
      assert.deepEqual(await finish(worker), [
        ' [*] Waiting for jobs. To exit press CTRL+C',
        attempt('ok', 1),
        " [x] Done 'ok'",
      ])
    })

    test(`${producer} retry_publish 'fail-twice' -> ${consumer} retry_worker: done on attempt 3`, async () => {
      const job = 'job fail-twice'
      const worker = await start(consumer, 'retry_worker', 1)
      const started = Date.now()
      assert.deepEqual(await run(producer, 'retry_publish', [job]), [` [x] Sent '${job}'`])
      const output = await finish(worker)
      const elapsed = Date.now() - started
      // x-death counts the rejections from work_queue: none, then 1, then 2
      assert.deepEqual(output, [
        ' [*] Waiting for jobs. To exit press CTRL+C',
        attempt(job, 1),
        retrying,
        attempt(job, 2),
        retrying,
        attempt(job, 3),
        ` [x] Done '${job}'`,
      ])
      // Each retry waited for the TTL of work_retry_5s
      assert.ok(elapsed >= 2 * RETRY_DELAY_MS, `took only ${elapsed} ms`)
      for (const queue of ['work_queue', 'work_retry_5s', 'work_failed']) assert.equal(await messageCount(queue), 0)
    })
  }

  for (const [producer, consumer] of PAIRS) {
    test(`${producer} retry_publish 'always-fail' -> ${consumer} retry_worker: parked in work_failed`, async () => {
      const job = 'always-fail job'
      const worker = await start(consumer, 'retry_worker', 1)
      assert.deepEqual(await run(producer, 'retry_publish', [job]), [` [x] Sent '${job}'`])
      assert.deepEqual(await finish(worker), [
        ' [*] Waiting for jobs. To exit press CTRL+C',
        attempt(job, 1),
        retrying,
        attempt(job, 2),
        retrying,
        attempt(job, 3),
        ` [!] Giving up on '${job}' after 3 attempts`,
      ])
      assert.equal(await messageCount('work_queue'), 0)
      assert.equal(await messageCount('work_retry_5s'), 0)
      assert.equal(await messageCount('work_failed'), 1)
      const msg = await channel.get('work_failed', { noAck: true })
      assert.ok(msg)
      assert.equal(msg.content.toString(), job)
      assert.equal(msg.properties.deliveryMode, 2)
      // Parked with its history: rejected twice from work_queue, expired twice from work_retry_5s
      const deaths = msg.properties.headers?.['x-death'] as Array<Record<string, unknown>> | undefined
      assert.ok(Array.isArray(deaths), `no x-death: ${JSON.stringify(msg.properties.headers)}`)
      const summary = deaths.map((d) => ({
        queue: d['queue'],
        reason: d['reason'],
        count: Number(d['count']),
        exchange: d['exchange'],
        'routing-keys': d['routing-keys'],
      }))
      // The most recent death first
      assert.deepEqual(summary, [
        { queue: 'work_retry_5s', reason: 'expired', count: 2, exchange: 'retry', 'routing-keys': ['job'] },
        { queue: 'work_queue', reason: 'rejected', count: 2, exchange: 'work', 'routing-keys': ['job'] },
      ])
    })
  }
})
