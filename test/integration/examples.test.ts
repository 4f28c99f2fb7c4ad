// Runs the tutorial programs in examples/ (TypeScript with amqplib, Python with pika) against the broker and
// checks what they print. Each tutorial runs with every producer/consumer language pair, including the
// cross-language ones. The tutorials use fixed queue and exchange names, so the tests run one at a time.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib'
import { startBroker, type TestBroker } from '../helpers/broker.js'
import { ExamplePrograms, LANGUAGE_PAIRS, type Lang } from '../helpers/examples.js'
import type { SpawnedProcess } from '../helpers/spawn-wait.js'

const PAIRS = LANGUAGE_PAIRS
const QUEUES = ['hello', 'task_queue', 'rpc_queue', 'task_queue_rpc']
const EXCHANGES = ['logs', 'direct_logs', 'topic_logs', 'logs_rpc']

let broker: TestBroker
let connection: ChannelModel
let channel: Channel
const programs = new ExamplePrograms((exitAfter) => env(exitAfter))

function env(exitAfter?: number): Record<string, string> {
  return {
    AMQP_URL: broker.url,
    EXAMPLE_SECONDS_PER_DOT: '0.02',
    ...(exitAfter !== undefined ? { EXAMPLE_EXIT_AFTER: String(exitAfter) } : {}),
  }
}

const start = (lang: Lang, program: string, args: string[], exitAfter: number): Promise<SpawnedProcess> =>
  programs.start(lang, program, args, exitAfter)
const run = (lang: Lang, program: string, args: string[] = []): Promise<string[]> => programs.run(lang, program, args)
const finish = (proc: SpawnedProcess): Promise<string[]> => programs.finish(proc)

function other(lang: Lang): Lang {
  return lang === 'ts' ? 'py' : 'ts'
}

async function deleteAll(): Promise<void> {
  for (const queue of QUEUES) await channel.deleteQueue(queue)
}

before(async () => {
  broker = await startBroker()
  connection = await amqp.connect(broker.url)
  channel = await connection.createChannel()
  await deleteAll()
})

beforeEach(deleteAll)

afterEach(() => {
  programs.killAll()
})

after(async () => {
  if (channel) {
    await deleteAll()
    for (const exchange of EXCHANGES) await channel.deleteExchange(exchange)
  }
  await connection?.close()
  await broker?.stop()
})

describe('tutorial 1: hello world (send / receive)', () => {
  for (const [producer, consumer] of PAIRS) {
    test(`${producer} send -> ${consumer} receive`, async () => {
      const receiver = await start(consumer, 'receive', [], 1)
      assert.deepEqual(await run(producer, 'send'), [" [x] Sent 'Hello World!'"])
      assert.deepEqual(await finish(receiver), [
        ' [*] Waiting for messages. To exit press CTRL+C',
        " [x] Received 'Hello World!'",
      ])
    })
  }
})

describe('tutorial 2: work queues (new_task / worker)', () => {
  for (const lang of ['ts', 'py'] as const) {
    test(`${lang} new_task publishes a persistent message to the durable task_queue`, async () => {
      assert.deepEqual(await run(lang, 'new_task', ['A', 'task...']), [" [x] Sent 'A task...'"])
      const declared = await channel.checkQueue('task_queue')
      assert.equal(declared.messageCount, 1)
      const msg = await channel.get('task_queue', { noAck: true })
      assert.ok(msg)
      assert.equal(msg.content.toString(), 'A task...')
      assert.equal(msg.properties.deliveryMode, 2)
    })
  }

  for (const [producer, consumer] of PAIRS) {
    test(`${producer} new_task -> ${consumer} and ${other(consumer)} workers`, async () => {
      const tasks = ['First message.', 'Second message..', 'Third message...', 'Fourth message....']
      const workers = [await start(consumer, 'worker', [], 2), await start(other(consumer), 'worker', [], 2)]
      for (const task of tasks) assert.deepEqual(await run(producer, 'new_task', [task]), [` [x] Sent '${task}'`])

      const outputs = await Promise.all(workers.map(finish))
      const received: string[] = []
      for (const output of outputs) {
        assert.equal(output[0], ' [*] Waiting for messages. To exit press CTRL+C')
        // prefetch 1 and manual acks: each worker finishes a task before it gets the next one
        const work = output.slice(1)
        assert.equal(work.length, 4, output.join('\n'))
        for (let i = 0; i < work.length; i += 2) {
          assert.match(work[i]!, /^ \[x\] Received '.*'$/)
          assert.equal(work[i + 1], ' [x] Done')
          received.push(work[i]!)
        }
      }
      assert.deepEqual(received.sort(), tasks.map((task) => ` [x] Received '${task}'`).sort())
      assert.equal((await channel.checkQueue('task_queue')).messageCount, 0)
    })
  }
})

describe('tutorial 3: publish/subscribe (emit_log / receive_logs)', () => {
  for (const [producer, consumer] of PAIRS) {
    test(`${producer} emit_log -> ${consumer} receive_logs x2`, async () => {
      const receivers = [await start(consumer, 'receive_logs', [], 1), await start(consumer, 'receive_logs', [], 1)]
      assert.deepEqual(await run(producer, 'emit_log', ['info:', 'fanned', 'out']), [" [x] Sent 'info: fanned out'"])
      for (const receiver of receivers) {
        assert.deepEqual(await finish(receiver), [
          ' [*] Waiting for logs. To exit press CTRL+C',
          " [x] 'info: fanned out'",
        ])
      }
    })
  }
})

describe('tutorial 4: routing (emit_log_direct / receive_logs_direct)', () => {
  for (const [producer, consumer] of PAIRS) {
    test(`${producer} emit_log_direct -> ${consumer} receive_logs_direct`, async () => {
      const errors = await start(consumer, 'receive_logs_direct', ['warning', 'error'], 2)
      const all = await start(consumer, 'receive_logs_direct', ['info', 'warning', 'error'], 3)
      for (const severity of ['debug', 'info', 'warning', 'error']) {
        assert.deepEqual(await run(producer, 'emit_log_direct', [severity, `a ${severity} message`]), [
          ` [x] Sent '${severity}':'a ${severity} message'`,
        ])
      }
      // A message routed to the wrong queue would arrive before the expected ones and show up here
      assert.deepEqual(await finish(errors), [
        ' [*] Waiting for logs. To exit press CTRL+C',
        " [x] 'warning':'a warning message'",
        " [x] 'error':'a error message'",
      ])
      assert.deepEqual(await finish(all), [
        ' [*] Waiting for logs. To exit press CTRL+C',
        " [x] 'info':'a info message'",
        " [x] 'warning':'a warning message'",
        " [x] 'error':'a error message'",
      ])
    })
  }
})

describe('tutorial 5: topics (emit_log_topic / receive_logs_topic)', () => {
  // The last key matches both receivers, so anything routed by mistake shows up before it
  const keys = [
    'quick.brown.fox', // matches nothing
    'orange',
    'quick.orange.new.rabbit',
    'quick.orange.fox', // Q1
    'lazy.brown.fox', // Q2
    'lazy', // Q2: '#' matches zero words
    'lazy.orange.new.rabbit', // Q2
    'lazy.orange.elephant', // Q1, Q2
    'quick.orange.rabbit', // Q1, Q2 (once, though it matches both of Q2's bindings)
  ]
  const received = (...routingKeys: string[]) => [
    ' [*] Waiting for logs. To exit press CTRL+C',
    ...routingKeys.map((key) => ` [x] '${key}':'about ${key}'`),
  ]

  for (const [producer, consumer] of PAIRS) {
    test(`${producer} emit_log_topic -> ${consumer} receive_logs_topic`, async () => {
      const q1 = await start(consumer, 'receive_logs_topic', ['*.orange.*'], 3)
      const q2 = await start(consumer, 'receive_logs_topic', ['*.*.rabbit', 'lazy.#'], 5)
      for (const key of keys) {
        assert.deepEqual(await run(producer, 'emit_log_topic', [key, 'about', key]), [
          ` [x] Sent '${key}':'about ${key}'`,
        ])
      }
      assert.deepEqual(await finish(q1), received('quick.orange.fox', 'lazy.orange.elephant', 'quick.orange.rabbit'))
      assert.deepEqual(
        await finish(q2),
        received('lazy.brown.fox', 'lazy', 'lazy.orange.new.rabbit', 'lazy.orange.elephant', 'quick.orange.rabbit'),
      )
    })
  }
})

describe('tutorial 6: RPC (rpc_client / rpc_server)', () => {
  for (const [producer, consumer] of PAIRS) {
    test(`${producer} rpc_client x2 -> ${consumer} rpc_server`, async () => {
      const server = await start(consumer, 'rpc_server', [], 2)
      // Two clients at once: each must get its own answer back (reply_to + correlation_id)
      const [ten, twenty] = await Promise.all([
        run(producer, 'rpc_client', ['10']),
        run(producer, 'rpc_client', ['20']),
      ])
      assert.deepEqual(ten, [' [x] Requesting fib(10)', ' [.] Got 55'])
      assert.deepEqual(twenty, [' [x] Requesting fib(20)', ' [.] Got 6765'])
      const output = await finish(server)
      assert.equal(output[0], ' [x] Awaiting RPC requests')
      assert.deepEqual(output.slice(1).sort(), [' [.] fib(10)', ' [.] fib(20)'])
    })
  }
})

describe('RPC over a topic exchange (rpc_client_topic / rpc_server_topic)', () => {
  for (const [producer, consumer] of PAIRS) {
    test(`${producer} rpc_client_topic -> ${consumer} rpc_server_topic`, async () => {
      const server = await start(consumer, 'rpc_server_topic', [], 1)
      assert.deepEqual(await run(producer, 'rpc_client_topic', ['15', 'math.fib']), [
        " [x] Requesting fib(15) with routing key 'math.fib'",
        ' [.] Got 610',
      ])
      assert.deepEqual(await finish(server), [
        " [x] Awaiting RPC requests on exchange 'logs_rpc'",
        " [.] fib(15) (routing key 'math.fib')",
      ])
    })
  }

  for (const lang of ['ts', 'py'] as const) {
    test(`${lang} rpc_server_topic replies persistently with the request's correlation id`, async () => {
      const server = await start(lang, 'rpc_server_topic', [], 1)
      const { queue: replyTo } = await channel.assertQueue('', { exclusive: true })
      const reply = new Promise<ConsumeMessage>((resolve) => {
        void channel.consume(replyTo, (msg) => msg && resolve(msg), { noAck: true })
      })
      channel.publish('logs_rpc', 'any.key', Buffer.from('12'), { correlationId: 'request-42', replyTo })
      const msg = await reply
      assert.equal(msg.content.toString(), '144')
      assert.equal(msg.properties.correlationId, 'request-42')
      assert.equal(msg.properties.deliveryMode, 2)
      await finish(server)
      await channel.deleteQueue(replyTo)
      // The durable queue and its '#' binding stay after the server has gone
      assert.equal((await channel.checkQueue('task_queue_rpc')).messageCount, 0)
    })
  }
})
