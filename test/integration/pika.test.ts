// End-to-end tests with an unchanged RabbitMQ client: Python's pika 1.x (Debian's python3-pika) with
// BlockingConnection. Each Python program under test/integration/pika/ runs a group of scenarios against the
// broker and prints one JSON line per scenario describing what it observed; the assertions live here.
// The programs are started in parallel once (they use unique names), each test awaits its program's output.
//
// Run against the reference: WARREN_TEST_URL=amqp://guest:guest@127.0.0.1:5682/ node --test dist/test/integration/pika.test.js
// (the suite always logs in as admin/123456 on the same host and port).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { startBroker, type TestBroker } from '../helpers/broker.js'
import { ADMIN_PASS, ADMIN_USER, ScenarioRuns, assertChannelError, type Obs } from '../helpers/pika-scenarios.js'

const PROGRAMS = ['connection_scenarios', 'tutorials', 'rpc', 'confirms', 'basics', 'errors'] as const
type Program = (typeof PROGRAMS)[number]

const AMQ_GEN = /^amq\.gen-[A-Za-z0-9_-]{22}$/
const LOCKED = (q: string): string =>
  `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally ` +
  'declared on another connection or the exclusive property value does not match that of the original declaration.'
const NO_QUEUE = (q: string): string => `NOT_FOUND - no queue '${q}' in vhost '/'`
const NO_EXCHANGE = (e: string): string => `NOT_FOUND - no exchange '${e}' in vhost '/'`
const LOGIN_REFUSED =
  "ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. " +
  "For details see the broker logfile.'"

let broker: TestBroker
let adminUrl: string
const runs = new ScenarioRuns<Program>()
const scenario = (program: Program, name: string): Promise<Obs> => runs.scenario(program, name)

function sorted(values: string[]): string[] {
  return [...values].sort()
}

before(async () => {
  broker = await startBroker({ defaultUser: ADMIN_USER, defaultPass: ADMIN_PASS })
  adminUrl = broker.external ? `amqp://${ADMIN_USER}:${ADMIN_PASS}@${broker.host}:${broker.port}/` : broker.url
  runs.start(PROGRAMS, adminUrl, 60_000)
})

after(async () => {
  await runs.settled()
  await broker?.stop()
})

describe('pika: connection', () => {
  it('logs in with PLAIN admin/123456 on vhost / and negotiates RabbitMQ defaults', async () => {
    const o = await scenario('connection_scenarios', 'login_ok')
    assert.equal(o['open'], true)
    assert.equal(o['user'], ADMIN_USER)
    assert.equal(o['server_heartbeat'], 60, 'server proposes heartbeat 60 in connection.tune')
    assert.equal(o['negotiated_heartbeat'], 0)
    assert.equal(o['frame_max'], 131072)
    assert.equal(o['channel_max'], 2047)
    for (const cap of [
      'publisher_confirms',
      'exchange_exchange_bindings',
      'basic.nack',
      'consumer_cancel_notify',
      'connection.blocked',
      'authentication_failure_close',
      'per_consumer_qos',
    ]) {
      assert.equal(o['capabilities'][cap], true, `server capability ${cap}`)
    }
    for (const key of ['capabilities', 'product', 'version', 'platform', 'copyright', 'information']) {
      assert.ok((o['server_property_keys'] as string[]).includes(key), `server property ${key}`)
    }
    assert.equal(o['publisher_confirms_supported'], true)
    assert.equal(o['basic_nack_supported'], true)
    assert.equal(o['consumer_cancel_notify_supported'], true)
    assert.equal(o['exchange_exchange_bindings_supported'], true)
    assert.match(o['server_named_queue'], AMQ_GEN)
    assert.equal(o['channel_number'], 1)
    assert.equal(o['closed'], true)
  })

  it('refuses a wrong password with connection.close 403 ACCESS_REFUSED (ProbableAuthenticationError)', async () => {
    const o = await scenario('connection_scenarios', 'wrong_password')
    assert.equal(o['exc'], 'ProbableAuthenticationError')
    assert.equal(o['is_probable_auth'], true)
    assert.equal(o['message'], LOGIN_REFUSED)
  })

  it('refuses an unknown user exactly like a wrong password', async () => {
    const o = await scenario('connection_scenarios', 'unknown_user')
    assert.equal(o['exc'], 'ProbableAuthenticationError')
    assert.equal(o['message'], LOGIN_REFUSED)
  })

  it('refuses an unknown vhost with connection.close 530 NOT_ALLOWED (ProbableAccessDeniedError)', async () => {
    const o = await scenario('connection_scenarios', 'unknown_vhost')
    assert.equal(o['exc'], 'ProbableAccessDeniedError')
    assert.equal(o['is_probable_access_denied'], true)
    assert.equal(o['message'], `ConnectionClosedByBroker: (530) 'NOT_ALLOWED - vhost ${o['vhost']} not found'`)
  })

  it('accepts vhost / spelled %2F in the URL', async () => {
    const o = await scenario('connection_scenarios', 'explicit_vhost_slash')
    assert.equal(o['server_named_ok'], true)
  })

  it('negotiates heartbeat=1 and keeps an idle connection alive, sending heartbeats', async () => {
    const o = await scenario('connection_scenarios', 'heartbeats')
    assert.equal(o['server_heartbeat'], 60)
    assert.equal(o['negotiated_heartbeat'], 1)
    assert.ok(o['heartbeats_received'] >= 2, `broker sent ${o['heartbeats_received']} heartbeats in 3.2 s`)
    assert.ok(o['heartbeats_sent'] >= 2)
    assert.equal(o['open_after_idle'], true)
    assert.equal(o['body_after_idle'], 'after-idle')
  })

  it('opens, closes and reuses many channels', async () => {
    const o = await scenario('connection_scenarios', 'many_channels')
    assert.deepEqual(
      o['numbers'],
      Array.from({ length: 20 }, (_, i) => i + 1),
    )
    assert.deepEqual(o['closed'], [true, true, true, true, true])
    assert.equal(o['reopened_number'], 1)
    assert.equal(o['declared'], true)
  })

  it('closes the connection with 530 when a consumer tag is reused on a channel', async () => {
    const o = await scenario('connection_scenarios', 'connection_error_closes_connection')
    assert.deepEqual(o['client_side'], { exc: 'DuplicateConsumerTag' })
    assert.deepEqual(o['server'], {
      exc: 'ConnectionClosedByBroker',
      code: 530,
      text: "NOT_ALLOWED - attempt to reuse consumer tag 'dup-tag'",
    })
    assert.equal(o['connection_closed'], true)
    assert.equal(o['channel_closed'], true)
    assert.equal(o['first_connection_still_open'], true)
  })

  it('closes the connection with 503 COMMAND_INVALID for an unknown exchange type', async () => {
    const o = await scenario('connection_scenarios', 'unknown_exchange_type')
    assert.equal(o['exc'], 'ConnectionClosedByBroker')
    assert.equal(o['code'], 503)
    assert.equal(o['text'], "COMMAND_INVALID - unknown exchange type 'no-such-type'")
    assert.equal(o['connection_closed'], true)
    assert.equal(o['other_channel_closed'], true)
    assert.equal(o['after'], 'ChannelWrongStateError')
  })

  it('answers channel.flow(active=true) and rejects active=false with 540 NOT_IMPLEMENTED', async () => {
    const o = await scenario('connection_scenarios', 'channel_flow')
    assert.equal(o['flow_true'], true)
    assert.deepEqual(o['flow_false'], {
      exc: 'ConnectionClosedByBroker',
      code: 540,
      text: 'NOT_IMPLEMENTED - active=false',
    })
    assert.equal(o['connection_closed'], true)
  })

  it('closes channels and the connection cleanly on request', async () => {
    const o = await scenario('connection_scenarios', 'close_by_client')
    assert.equal(o['channel_closed'], true)
    assert.equal(o['connection_closed'], true)
  })
})

describe('pika: tutorials', () => {
  it('hello world on the default exchange', async () => {
    const o = await scenario('tutorials', 'hello_world')
    assert.deepEqual(o['declare'], { queue: o['queue'], message_count: 0, consumer_count: 0 })
    assert.deepEqual(o['received'], [
      {
        body: 'Hello World!',
        exchange: '',
        routing_key: o['queue'],
        redelivered: false,
        delivery_tag: 1,
        consumer_tag: o['consumer_tag'],
        properties: {},
      },
    ])
    assert.equal(o['remaining'], 0)
    assert.equal(o['deleted_count'], 0)
  })

  it('work queues: durable queue, persistent messages, prefetch 1, manual ack, round-robin and fair dispatch', async () => {
    const o = await scenario('tutorials', 'work_queues')
    const rr = o['round_robin'] as { w1: string[]; w2: string[] }
    assert.equal(rr.w1.length, 3, `round robin: ${JSON.stringify(rr)}`)
    assert.equal(rr.w2.length, 3, `round robin: ${JSON.stringify(rr)}`)
    assert.equal(rr.w1[0], 'task 1', 'first registered consumer gets the first message')
    assert.equal(rr.w2[0], 'task 2')
    assert.deepEqual(sorted([...rr.w1, ...rr.w2]), ['task 1', 'task 2', 'task 3', 'task 4', 'task 5', 'task 6'])
    const fair = o['fair'] as { w1: string[]; w2: string[] }
    assert.equal(fair.w1.length, 1, `a busy worker with prefetch 1 gets one message: ${JSON.stringify(fair)}`)
    assert.equal(fair.w2.length, 5)
    assert.deepEqual(sorted([...fair.w1, ...fair.w2]), ['job 1', 'job 2', 'job 3', 'job 4', 'job 5', 'job 6'])
    assert.deepEqual(o['delivery_modes'], [2])
    assert.deepEqual(o['counts_while_held'], { message_count: 0, consumer_count: 2 })
    assert.deepEqual(o['after_close'], { message_count: 0, consumer_count: 0 })
  })

  it('publish/subscribe: fanout to exclusive server-named queues that vanish with their connection', async () => {
    const o = await scenario('tutorials', 'publish_subscribe')
    const queues = o['queues'] as string[]
    assert.equal(queues.length, 2)
    for (const q of queues) assert.match(q, AMQ_GEN)
    assert.notEqual(queues[0], queues[1])
    const expected = [
      { body: 'info: Hello World!', exchange: o['exchange'], routing_key: 'ignored.by.fanout' },
      { body: 'second', exchange: o['exchange'], routing_key: '' },
    ]
    assert.deepEqual(o['received'], [expected, expected])
    assert.deepEqual(
      o['after_close'],
      queues.map((q) => ({ exc: 'ChannelClosedByBroker', code: 404, text: NO_QUEUE(q) })),
    )
  })

  it('routing: direct exchange with several bindings, unbind', async () => {
    const o = await scenario('tutorials', 'routing')
    assert.deepEqual(o['errors_queue'], [['error', 'error message']])
    assert.deepEqual(o['all_queue'], [
      ['info', 'info message'],
      ['warning', 'warning message'],
      ['error', 'error message'],
    ])
  })

  it('topics: * matches exactly one word, # zero or more', async () => {
    const o = await scenario('tutorials', 'topics')
    assert.deepEqual(o['q1'], ['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox', '.orange.'])
    assert.deepEqual(o['q2'], [
      'quick.orange.rabbit',
      'lazy.orange.elephant',
      'lazy.brown.fox',
      'lazy.pink.rabbit',
      'lazy.orange.male.rabbit',
      'lazy',
      'lazy.',
    ])
    assert.deepEqual(o['q3'], [
      'quick.orange.rabbit',
      'lazy.orange.elephant',
      'quick.orange.fox',
      'lazy.brown.fox',
      'lazy.pink.rabbit',
      'quick.brown.fox',
      'orange',
      'quick.orange.male.rabbit',
      'lazy.orange.male.rabbit',
      'lazy',
      '',
      'a.z',
      'a.b.c.z',
      'a.z.q',
      '.orange.',
      'lazy.',
    ])
    assert.deepEqual(o['q4'], ['a.z', 'a.b.c.z'])
  })

  it('headers exchange: x-match all / any / default all / empty binding', async () => {
    const o = await scenario('tutorials', 'headers_exchange')
    assert.deepEqual(o['all'], ['pdf-report', 'pdf-report-extra'])
    assert.deepEqual(o['any'], ['pdf-report', 'pdf-report-extra', 'pdf-only', 'log-only'])
    assert.deepEqual(o['default'], ['zip-42'])
    assert.deepEqual(o['empty'], [
      'pdf-report',
      'pdf-report-extra',
      'pdf-only',
      'log-only',
      'zip-42',
      'zip-43',
      'no-headers',
    ])
  })

  it('exchange-to-exchange bindings keep the original exchange and routing key', async () => {
    const o = await scenario('tutorials', 'exchange_to_exchange')
    assert.deepEqual(o['received'], [
      { body: 'stock.nyse.ibm', exchange: o['source'], routing_key: 'stock.nyse.ibm' },
      { body: 'stock', exchange: o['source'], routing_key: 'stock' },
    ])
  })
})

describe('pika: RPC', () => {
  it('Fibonacci server and client with reply_to and correlation_id on two connections', async () => {
    const o = await scenario('rpc', 'rpc_fibonacci')
    assert.deepEqual(o['inputs'], [0, 1, 2, 10, 30, 70])
    assert.deepEqual(o['results'], [0, 1, 1, 55, 832040, 190392490709135])
    assert.deepEqual(o['server_saw'], o['inputs'])
    assert.match(o['callback_queue'], AMQ_GEN)
    assert.equal(o['correlation_ids_unique'], true)
    assert.equal(o['stray_replies'], 0)
  })

  it('seed variant: durable topic exchange bound with # to a durable queue, prefetch 1, manual ack', async () => {
    const o = await scenario('rpc', 'rpc_seed_topic')
    assert.deepEqual(o['results'], [55, 89, 144])
    assert.deepEqual(o['routing_keys_seen'], ['fib.calc', 'anything', 'deeply.nested.key'])
    assert.deepEqual(o['exchanges_seen'], [o['exchange'], o['exchange'], o['exchange']])
    assert.equal(o['stray_replies'], 0)
    assertChannelError(
      o['redeclare_non_durable'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '${o['exchange']}' in vhost '/': ` +
        "received 'false' but current is 'true'",
    )
  })

  it('matches many outstanding replies by correlation_id, served in FIFO order', async () => {
    const o = await scenario('rpc', 'rpc_concurrent_requests')
    assert.equal(o['requests'], 20)
    assert.equal(o['replies'], 20)
    assert.equal(o['all_matched'], true)
    assert.deepEqual(
      o['server_order'],
      Array.from({ length: 20 }, (_, i) => i),
    )
  })
})

describe('pika: publisher confirms and mandatory', () => {
  it('confirms routed publishes and raises UnroutableError for mandatory unroutable ones (312 NO_ROUTE)', async () => {
    const o = await scenario('confirms', 'confirms_mandatory')
    assert.equal(o['routed_mandatory'], 'None')
    assert.equal(o['routed_plain'], 'None')
    assert.deepEqual(o['unroutable_default'], {
      exc: 'UnroutableError',
      count: 1,
      returned: [
        {
          reply_code: 312,
          reply_text: 'NO_ROUTE',
          exchange: '',
          routing_key: o['missing_queue'],
          body: 'lost',
          properties: { content_type: 'text/plain', message_id: 'm-1' },
        },
      ],
    })
    assert.equal(o['unroutable_not_mandatory'], 'None', 'unroutable, not mandatory: dropped but acked')
    assert.equal(o['unroutable_exchange']['exc'], 'UnroutableError')
    assert.equal(o['unroutable_exchange']['returned'][0]['reply_code'], 312)
    assert.equal(o['unroutable_exchange']['returned'][0]['reply_text'], 'NO_ROUTE')
    assert.equal(o['unroutable_exchange']['returned'][0]['routing_key'], 'nowhere')
    assert.equal(o['unroutable_exchange']['returned'][0]['body'], 'lost-2')
    assert.equal(o['queue_count'], 203)
    assert.equal(o['channel_open'], true)
  })

  it('publishing to a missing exchange closes the channel with 404', async () => {
    const o = await scenario('confirms', 'confirms_missing_exchange')
    assertChannelError(o, 404, NO_EXCHANGE(o['exchange']))
    assert.equal(o['channel_closed'], true)
    assert.equal(o['new_channel_ok'], true)
  })

  it('without confirms, basic.return reaches the on_return callback', async () => {
    const o = await scenario('confirms', 'mandatory_return_without_confirms')
    assert.deepEqual(o['returned'], [
      {
        reply_code: 312,
        reply_text: 'NO_ROUTE',
        exchange: '',
        routing_key: o['routing_key'],
        body: 'come back',
        properties: { correlation_id: 'c-9', headers: { k: 'v' } },
      },
    ])
  })

  it('confirm and tx modes exclude each other (406)', async () => {
    const o = await scenario('confirms', 'confirm_and_tx_exclusive')
    assertChannelError(o['confirm_then_tx'], 406, 'PRECONDITION_FAILED - cannot switch from confirm to tx mode')
    assertChannelError(o['tx_then_confirm'], 406, 'PRECONDITION_FAILED - cannot switch from tx to confirm mode')
    assert.equal(o['connection_open'], true)
  })
})

describe('pika: basic and queue operations', () => {
  it('basic_get returns message_count and round-trips all properties and header types; get-empty', async () => {
    const o = await scenario('basics', 'basic_get_and_properties')
    assert.deepEqual(o['first'], {
      body: '{"n": 1}',
      delivery_tag: 1,
      redelivered: false,
      exchange: '',
      routing_key: o['first']['routing_key'],
      message_count: 1,
      properties: {
        app_id: 'warren-tests',
        content_encoding: 'utf-8',
        content_type: 'application/json',
        correlation_id: 'corr-1',
        delivery_mode: 2,
        expiration: '60000',
        headers: {
          big: 1099511627776,
          bool_f: false,
          bool_t: true,
          bytes: { $bytes: '\u0000\u0001raw' },
          decimal: { $decimal: '3.14' },
          int: 42,
          list: [1, 'two', { three: 3 }],
          negative: -7,
          nested: { a: 1, b: ['x', 2, true] },
          none: null,
          str: 'value',
          when: { $timestamp: 1704164645 },
        },
        message_id: 'msg-1',
        priority: 5,
        reply_to: 'replies',
        timestamp: 1700000000,
        type: 'kind',
      },
    })
    assert.match(o['first']['routing_key'], /^get-/)
    assert.deepEqual(o['second'], { body: 'second', delivery_tag: 2, message_count: 0, properties: {} })
    assert.deepEqual(o['empty'], [true, true, true])
  })

  it('reject/nack with requeue redeliver with redelivered=true; recover; close requeues', async () => {
    const o = await scenario('basics', 'reject_nack_requeue')
    assert.deepEqual(o['first'], ['a', false])
    assert.deepEqual(o['after_reject'], ['a', true])
    assert.deepEqual(o['next'], ['b', false])
    assert.deepEqual(o['after_nack_multiple'], [
      ['a', true, 4],
      ['b', true, 5],
      ['c', false, 6],
    ])
    assert.equal(o['count_after_drop'], 0)
    assert.deepEqual(o['after_recover'], ['recover-me', true])
    assert.deepEqual(o['consumer_nack'], [
      ['consumer-nack', false],
      ['consumer-nack', true],
    ])
    assert.deepEqual(o['requeued_on_close'], ['unacked-on-close', true])
  })

  it('basic_cancel stops deliveries and removes the consumer', async () => {
    const o = await scenario('basics', 'consume_cancel')
    assert.equal(o['tag'], 'my-consumer')
    assert.deepEqual(o['got'], ['one'])
    assert.deepEqual(o['cancel_result'], [])
    assert.equal(o['consumer_count_with'], 1)
    assert.equal(o['consumer_count_after'], 0)
    assert.equal(o['message_count_after'], 1)
  })

  it('deleting a queue sends basic.cancel to its consumers (consumer_cancel_notify)', async () => {
    const o = await scenario('basics', 'consumer_cancel_notification')
    assert.deepEqual(o['cancelled'], [{ consumer_tag: o['tag'], nowait: true }])
    assert.equal(o['channel_open'], true)
    assert.deepEqual(o['consumer_tags_after'], [])
    assert.equal(o['delete_count'], 0)
  })

  it('an auto-delete queue is deleted when its last consumer is cancelled', async () => {
    const o = await scenario('basics', 'auto_delete_queue')
    assert.equal(o['consumers_after_first_cancel'], 1)
    assertChannelError(o['after_last_cancel'], 404, NO_QUEUE(o['queue']))
  })

  it('queue_declare/purge/delete report message counts; deleting missing queues/exchanges is ok', async () => {
    const o = await scenario('basics', 'purge_and_delete_counts')
    assert.deepEqual(o['declare'], [true, 0, 0])
    assert.equal(o['passive_count'], 5)
    assert.equal(o['redeclare_count'], 5)
    assert.equal(o['purge_count'], 5)
    assert.equal(o['count_with_unacked'], 2)
    assert.equal(o['purge_with_unacked'], 2)
    assert.equal(o['delete_count'], 2)
    assert.equal(o['delete_missing_count'], 0)
    assert.equal(o['exchange_delete_missing'], '<Exchange.DeleteOk>')
  })

  it('tx_select / tx_commit / tx_rollback for publishes and acks; commit without select is 406', async () => {
    const o = await scenario('basics', 'transactions')
    assert.equal(o['select'], '<Tx.SelectOk>')
    assert.equal(o['before_commit'], 0)
    assert.equal(o['commit'], '<Tx.CommitOk>')
    assert.equal(o['after_commit'], 2)
    assert.equal(o['rollback'], '<Tx.RollbackOk>')
    assert.equal(o['after_rollback'], 2)
    assert.equal(o['count_after_ack_rollback'], 1, 'a rolled-back ack leaves the message unacked, not requeued')
    assert.equal(o['remaining_body'], 'tx-2')
    assert.equal(o['final_count'], 0)
    assert.equal(o['empty_commit'], '<Tx.CommitOk>')
    assertChannelError(o['commit_not_tx'], 406, 'PRECONDITION_FAILED - channel is not transactional')
    assertChannelError(o['rollback_not_tx'], 406, 'PRECONDITION_FAILED - channel is not transactional')
  })

  it('round-trips a 2 MB message and bodies around the frame size', async () => {
    const o = await scenario('basics', 'large_message')
    assert.equal(o['received_len'], o['sent_len'])
    assert.equal(o['sent_len'], 2 * 1024 * 1024 + 17)
    assert.equal(o['received_sha256'], o['sent_sha256'])
    assert.deepEqual(o['sizes_received'], o['sizes_sent'])
    assert.deepEqual(o['sizes_sent'], [0, 1, 131064, 131063, 131065, 393216])
    assert.equal(o['sizes_content_ok'], true)
  })

  it('unicode queue, exchange and routing key names, bodies and headers', async () => {
    const o = await scenario('basics', 'unicode_names')
    assert.equal(o['declared'], o['queue'])
    assert.equal(o['passive'], o['queue'])
    assert.match(o['queue'], /^ünïcödé-队列-🐇-/)
    assert.equal(o['received_exchange'], o['exchange'])
    assert.equal(o['routing_key'], 'clé.日本.🐇')
    assert.equal(o['body'], 'Grüße, 世界! 🐇 — ñ')
    assert.deepEqual(o['headers'], { 名前: 'ウォーレン', emoji: '🐇' })
    assert.equal(o['correlation_id'], 'ид-1')
    assertChannelError(o['not_found'], 404, NO_QUEUE(o['missing']))
  })

  it('basic_qos prefetch_count limits unacked deliveries', async () => {
    const o = await scenario('basics', 'qos_prefetch')
    assert.equal(o['after_first'], 3)
    assert.equal(o['after_ack_two'], 5)
    assert.equal(o['after_ack_all'], 8)
    assert.equal(o['total'], 10)
    assert.deepEqual(
      o['tags'],
      Array.from({ length: 10 }, (_, i) => i + 1),
    )
  })
})

describe('pika: channel errors (reply codes and texts)', () => {
  it('passive declare of a missing queue: 404, channel closed, connection open', async () => {
    const o = await scenario('errors', 'passive_declare_missing_queue')
    assertChannelError(o, 404, NO_QUEUE(o['queue']))
    assert.equal(o['channel_closed'], true)
    assert.equal(o['reuse'], 'ChannelWrongStateError')
    assert.equal(o['next_channel_ok'], true)
  })

  it('passive declare of a missing exchange: 404', async () => {
    const o = await scenario('errors', 'passive_declare_missing_exchange')
    assertChannelError(o, 404, NO_EXCHANGE(o['exchange']))
  })

  it('queue redeclare with different durability, auto_delete or arguments: 406', async () => {
    const o = await scenario('errors', 'queue_redeclare_durability')
    const q = o['queue'] as string
    assertChannelError(
      o['to_durable'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
    )
    assertChannelError(
      o['to_transient'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${o['durable_queue']}' in vhost '/': ` +
        "received 'false' but current is 'true'",
    )
    assertChannelError(
      o['auto_delete_mismatch'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
    )
    assertChannelError(
      o['arguments_mismatch'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/': ` +
        "received the value '1000' of type 'signedint' but current is none",
    )
    assert.equal(o['same_ok'], true)
    assert.equal(o['passive_ignores_flags'], true)
  })

  it('exchange redeclare with a different type or durability: 406', async () => {
    const o = await scenario('errors', 'exchange_redeclare_type')
    const e = o['exchange'] as string
    assertChannelError(
      o['to_topic'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${e}' in vhost '/': received 'topic' but current is 'direct'`,
    )
    assertChannelError(
      o['to_durable'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '${e}' in vhost '/': received 'true' but current is 'false'`,
    )
    assert.equal(o['same_ok'], '<Exchange.DeclareOk>')
    assert.equal(o['passive_other_type_ok'], '<Exchange.DeclareOk>')
    assert.equal(o['amq_direct_same'], '<Exchange.DeclareOk>')
    assertChannelError(
      o['amq_direct_other'],
      406,
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': " +
        "received 'fanout' but current is 'direct'",
    )
  })

  it("another connection's exclusive queue is locked (405) for every operation", async () => {
    const o = await scenario('errors', 'exclusive_queue_locked')
    const q = o['queue'] as string
    for (const op of ['passive', 'declare', 'consume', 'get', 'purge', 'delete', 'bind']) {
      assertChannelError(o[op], 405, LOCKED(q))
    }
    assert.equal(o['owner_ok'], true)
    assertChannelError(o['after_owner_closed'], 404, NO_QUEUE(q))
  })

  it('reserved amq.* names and the default exchange: 403 ACCESS_REFUSED', async () => {
    const o = await scenario('errors', 'reserved_names')
    const name = `amq.${o['suffix']}`
    assertChannelError(
      o['declare_amq_exchange'],
      403,
      `ACCESS_REFUSED - exchange name '${name}' contains reserved prefix 'amq.*'`,
    )
    assertChannelError(
      o['declare_amq_queue'],
      403,
      `ACCESS_REFUSED - queue name '${name}' contains reserved prefix 'amq.*'`,
    )
    assertChannelError(
      o['delete_amq_exchange'],
      403,
      "ACCESS_REFUSED - deletion of system exchange 'amq.fanout' in vhost '/' not allowed",
    )
    assertChannelError(
      o['bind_default_exchange'],
      403,
      'ACCESS_REFUSED - operation not permitted on the default exchange',
    )
  })

  it('bind/consume/get/purge against missing queues and exchanges: 404', async () => {
    const o = await scenario('errors', 'missing_bindings')
    assertChannelError(o['bind_missing_exchange'], 404, NO_EXCHANGE(o['exchange']))
    for (const op of ['bind_missing_queue', 'consume_missing_queue', 'get_missing_queue', 'purge_missing_queue']) {
      assertChannelError(o[op], 404, NO_QUEUE(o['missing_queue']))
    }
  })

  it('unknown delivery tags: 406 PRECONDITION_FAILED - unknown delivery tag N', async () => {
    const o = await scenario('errors', 'delivery_tag_errors')
    assertChannelError(o['double_ack'], 406, `PRECONDITION_FAILED - unknown delivery tag ${o['tag']}`)
    assert.equal(o['channel_closed'], true)
    assertChannelError(o['reject_unknown'], 406, 'PRECONDITION_FAILED - unknown delivery tag 99')
    assertChannelError(o['nack_unknown_multiple'], 406, 'PRECONDITION_FAILED - unknown delivery tag 7')
    assertChannelError(o['ack_zero_single'], 406, 'PRECONDITION_FAILED - unknown delivery tag 0')
    assertChannelError(o['ack_after_auto_ack'], 406, `PRECONDITION_FAILED - unknown delivery tag ${o['auto_ack_tag']}`)
    assert.equal(o['connection_open'], true)
  })

  it('queue_delete if_empty/if_unused and exchange_delete if_unused: 406', async () => {
    const o = await scenario('errors', 'delete_conditions')
    assertChannelError(o['if_empty'], 406, `PRECONDITION_FAILED - queue '${o['queue']}' in vhost '/' not empty`)
    assertChannelError(o['if_unused'], 406, `PRECONDITION_FAILED - queue '${o['queue']}' in vhost '/' in use`)
    assertChannelError(
      o['exchange_if_unused'],
      406,
      `PRECONDITION_FAILED - exchange '${o['exchange']}' in vhost '/' in use`,
    )
    assert.equal(o['exchange_delete'], '<Exchange.DeleteOk>')
    assert.equal(o['queue_delete_count'], 0)
  })

  it('publishing with a user_id other than the authenticated user: 406', async () => {
    const o = await scenario('errors', 'user_id_mismatch')
    assert.equal(o['own_user_id'], ADMIN_USER)
    assertChannelError(
      o['other_user_id'],
      406,
      `PRECONDITION_FAILED - user_id property set to 'someone-else' but authenticated user was '${ADMIN_USER}'`,
    )
  })

  it('invalid queue arguments: 406 PRECONDITION_FAILED - invalid arg', async () => {
    const o = await scenario('errors', 'invalid_arguments')
    const names = o['names'] as Record<string, string>
    assertChannelError(
      o['ttl_string'],
      406,
      `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '${names['ttl_string']}' in vhost '/': ` +
        '"expected integer, got longstr"',
    )
    assertChannelError(
      o['ttl_negative'],
      406,
      `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '${names['ttl_negative']}' in vhost '/': ` +
        '{value_negative,-1}',
    )
    assertChannelError(
      o['max_length_negative'],
      406,
      `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '${names['max_length_negative']}' in vhost '/': ` +
        '{value_negative,-5}',
    )
  })
})
