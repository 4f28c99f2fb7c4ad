// End-to-end tests of the RabbitMQ extensions with an unchanged client: Python's pika 1.x (Debian's
// python3-pika) with BlockingConnection. The programs test/integration/pika/extensions_*.py run groups of
// scenarios (TTL and queue expiry; dead-lettering and x-death; length limits and priority queues; alternate
// exchanges, exchange-to-exchange bindings, CC/BCC and direct reply-to; consumer extensions) and print one JSON
// line per scenario with what they observed; the assertions live here. Every expectation was checked against
// RabbitMQ 3.10.8.
//
// Run against the reference:
//   WARREN_TEST_URL=amqp://guest:guest@127.0.0.1:5682/ node --test dist/test/integration/pika-extensions.test.js
// (the suite always logs in as admin/123456 on the same host and port).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { startBroker, type TestBroker } from '../helpers/broker.js'
import { ADMIN_PASS, ADMIN_USER, ScenarioRuns, assertChannelError, type Obs } from '../helpers/pika-scenarios.js'

const PROGRAMS = [
  'extensions_ttl',
  'extensions_dlx',
  'extensions_limits',
  'extensions_routing',
  'extensions_consumers',
] as const
type Program = (typeof PROGRAMS)[number]

const NO_QUEUE = (q: string): string => `NOT_FOUND - no queue '${q}' in vhost '/'`
const EXCLUSIVE_USE = (q: string): string => `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`
const REPLY_TO = 'amq.rabbitmq.reply-to'

let broker: TestBroker
let adminUrl: string
const runs = new ScenarioRuns<Program>()
const scenario = (program: Program, name: string): Promise<Obs> => runs.scenario(program, name)

const bodies = (messages: Obs[]): string[] => messages.map((m) => m['body'] as string)

interface Death {
  count: number
  reason: 'rejected' | 'expired' | 'maxlen'
  queue: string
  exchange: string
  'routing-keys': string[]
  'original-expiration'?: string
}

/** Key order of an x-death entry: RabbitMQ writes a new entry as count, reason, queue, time, exchange,
 * routing-keys[, original-expiration] when the message has no x-death header yet; when it updates an existing
 * x-death header, the new or incremented entry is sorted by key. */
function deathKeys(d: Death, order: 'built' | 'sorted'): string[] {
  const keys = ['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys']
  if (d['original-expiration'] !== undefined) keys.push('original-expiration')
  return order === 'built' ? keys : [...keys].sort()
}

/** Checks of the order of keys in header tables, run after a test's content checks (runLater) so that a
 * difference in content is the one reported first. */
type Later = (() => void)[]

function runLater(later: Later): void {
  for (const check of later) check()
}

/** One entry of x-death as observed by extensions_common.x_death: values, pika-decoded types, key order, and
 * the time within a few seconds of now (RabbitMQ stores whole seconds). */
function assertDeath(entry: Obs, expected: Death, order: 'built' | 'sorted', where: string, later: Later): void {
  assert.deepEqual(entry['values'], expected, `${where}: x-death values`)
  const types: Record<string, string> = {
    count: 'long', // signed 64-bit ('l'); pika decodes it as its int subclass `long`
    reason: 'str',
    queue: 'str',
    time: 'datetime', // AMQP timestamp ('T')
    exchange: 'str',
    'routing-keys': 'list',
  }
  if (expected['original-expiration'] !== undefined) types['original-expiration'] = 'str'
  assert.deepEqual(entry['types'], types, `${where}: x-death value types`)
  later.push(() => assert.deepEqual(entry['keys'], deathKeys(expected, order), `${where}: x-death key order`))
  const age = entry['time_age_s'] as number
  assert.ok(age > -2 && age < 10, `${where}: x-death time is ${age} s from now`)
}

interface DeadLettered {
  body: string
  exchange: string
  routingKey: string
  /** newest first, with the key order of each entry */
  deaths: [Death, 'built' | 'sorted'][]
  first: { reason: string; queue: string; exchange: string }
  /** headers other than x-death and x-first-death-* */
  headers?: Record<string, unknown>
  /** properties other than headers */
  properties?: Record<string, unknown>
}

/** A dead-lettered message: delivery fields, x-death entries, x-first-death-* headers, the other headers and
 * properties (the expiration property is removed), and the header table sorted by key as RabbitMQ sends it. */
function assertDeadLettered(m: Obs | undefined, e: DeadLettered, later: Later): void {
  assert.ok(m, `dead-lettered message ${e.body} missing`)
  const where = `dead-lettered ${e.body}`
  assert.deepEqual(
    { body: m['body'], exchange: m['exchange'], routing_key: m['routing_key'], redelivered: m['redelivered'] },
    { body: e.body, exchange: e.exchange, routing_key: e.routingKey, redelivered: false },
    where,
  )
  const deaths = m['x_death'] as Obs[]
  assert.equal(deaths.length, e.deaths.length, `${where}: ${JSON.stringify(deaths)}`)
  e.deaths.forEach(([d, order], i) => assertDeath(deaths[i]!, d, order, `${where} x-death[${i}]`, later))
  const { headers, ...props } = m['properties'] as Obs
  const { 'x-death': _xd, ...restHeaders } = headers as Obs
  assert.deepEqual(
    restHeaders,
    {
      ...(e.headers ?? {}),
      'x-first-death-exchange': e.first.exchange,
      'x-first-death-queue': e.first.queue,
      'x-first-death-reason': e.first.reason,
    },
    `${where}: headers`,
  )
  assert.deepEqual(props, e.properties ?? {}, `${where}: properties`)
  const keys = m['header_keys'] as string[]
  later.push(() => assert.deepEqual(keys, [...keys].sort(), `${where}: header table sorted by key`))
}

/** A message dead-lettered once, from `queue`, where it had been published through the default exchange with the
 * queue's name as routing key; `to` is where it was dead-lettered (exchange and routing key it arrives with). */
function deadLetteredOnce(
  body: string,
  reason: Death['reason'],
  queue: string,
  to: { exchange: string; routingKey: string },
  more: { death?: Partial<Death>; headers?: Record<string, unknown>; properties?: Record<string, unknown> } = {},
): DeadLettered {
  return {
    body,
    exchange: to.exchange,
    routingKey: to.routingKey,
    deaths: [[{ count: 1, reason, queue, exchange: '', 'routing-keys': [queue], ...more.death }, 'built']],
    first: { reason, queue, exchange: '' },
    headers: more.headers,
    properties: more.properties,
  }
}

before(async () => {
  broker = await startBroker({ defaultUser: ADMIN_USER, defaultPass: ADMIN_PASS })
  adminUrl = broker.external ? `amqp://${ADMIN_USER}:${ADMIN_PASS}@${broker.host}:${broker.port}/` : broker.url
  runs.start(PROGRAMS, adminUrl, 90_000)
})

after(async () => {
  await runs.settled()
  await broker?.stop()
})

describe('pika extensions: message TTL and queue expiry', () => {
  it('per-message expiration: expired messages are never delivered; only the head is removed eagerly', async () => {
    const o = await scenario('extensions_ttl', 'per_message_ttl')
    assert.equal(o['count_before'], 4)
    assert.equal(o['count_after'], 3, 'the expired message behind a live one is still counted until it is reached')
    assert.deepEqual(
      o['got'].map((m: Obs) => [m['body'], m['properties']]),
      [
        ['b-stays', {}],
        ['d-long', { expiration: '60000' }],
      ],
    )
    assert.equal(o['count_end'], 0)
    assert.deepEqual(o['consumer_saw'], [])
  })

  it('x-message-ttl: expired messages are removed; the lower of queue and message TTL applies', async () => {
    const o = await scenario('extensions_ttl', 'per_queue_ttl')
    assert.equal(o['count_before'], 3)
    assert.equal(o['count_after'], 0)
    assert.equal(o['get_after'], true)
    assert.deepEqual(
      o['lower_message_ttl'].map((m: Obs) => [m['body'], m['properties']]),
      [['queue-ttl', {}]],
    )
    assert.deepEqual(o['fresh'][0]['properties'], {}, 'queue TTL does not add an expiration property')
    assert.deepEqual(bodies(o['fresh']), ['fresh'])
  })

  it('TTL 0: delivered to a waiting consumer with free prefetch, otherwise dropped (dead-lettered)', async () => {
    const o = await scenario('extensions_ttl', 'ttl_zero')
    assert.equal(o['count_no_consumer'], 0)
    assert.deepEqual(o['consumer_got'], [['delivered', {}]])
    assert.equal(o['count_end'], 0)
    assert.deepEqual(o['dead_lettered'], [
      ['nobody-waiting', 'expired'],
      ['consumer-busy', 'expired'],
    ])
    assert.equal(o['expiration0_no_consumer'], 0)
    assert.deepEqual(o['expiration0_consumer'], [['to-consumer', { expiration: '0' }]])
  })

  it('a message waiting behind a full prefetch window expires and is dead-lettered', async () => {
    const o = await scenario('extensions_ttl', 'expiry_while_consumer_waits')
    const later: Later = []
    const toDlq = { exchange: '', routingKey: o['dlq'] }
    assert.deepEqual(o['held'], ['m1'])
    assert.equal(o['count_while_held'], 0)
    assert.equal(o['dlq_count_while_held'], 1)
    assert.deepEqual(o['after_ack'], ['m1'], 'the expired message is not delivered after the ack')
    assert.equal(o['dead'].length, 1)
    assertDeadLettered(o['dead'][0], deadLetteredOnce('m2', 'expired', o['queue'], toDlq), later)
    runLater(later)
  })

  it('a message requeued (reject, nack, recover) after its TTL passed is dead-lettered, not redelivered', async () => {
    const o = await scenario('extensions_ttl', 'requeue_expired')
    const later: Later = []
    const toDlq = { exchange: '', routingKey: o['dlq'] }
    assert.equal(o['count_after_reject'], 0)
    assert.equal(o['get_after_reject'], true)
    assert.equal(o['dead_get'].length, 1)
    assertDeadLettered(o['dead_get'][0], deadLetteredOnce('late-get', 'expired', o['queue'], toDlq), later)
    assert.deepEqual(o['consumer_got'], [['late-consumer', false]])
    assert.equal(o['count2_after_nack'], 0)
    assert.equal(o['dead_consumer'].length, 1)
    const lateConsumer = deadLetteredOnce('late-consumer', 'expired', o['queue2'], toDlq, {
      death: { 'original-expiration': '200' },
    })
    assertDeadLettered(o['dead_consumer'][0], lateConsumer, later)
    assert.equal(o['get_after_recover'], true)
    assert.deepEqual(o['dead_recover'], ['late-recover'])
    runLater(later)
  })

  it('x-expires: an unused queue is deleted (messages do not keep it); a consumer keeps it alive', async () => {
    const o = await scenario('extensions_ttl', 'queue_expires')
    assert.deepEqual(o['exists_at_once'], { messages: 1, consumers: 0 })
    assertChannelError(o['after_unused'], 404, NO_QUEUE(o['queue']))
    assert.deepEqual(o['with_consumer'], { messages: 0, consumers: 1 })
    assertChannelError(o['after_cancel'], 404, NO_QUEUE(o['queue2']))
    assert.equal(o['connection_open'], true)
  })
})

describe('pika extensions: dead-lettering', () => {
  it('reject/nack without requeue dead-letter to x-dead-letter-exchange with x-dead-letter-routing-key', async () => {
    const o = await scenario('extensions_dlx', 'reject_and_nack')
    const later: Later = []
    const q = o['queue'] as string
    const toDlx = { exchange: o['dlx'], routingKey: 'dead' }
    assert.deepEqual(bodies(o['dead']), ['rejected', 'nacked', 'multi-1', 'multi-2'])
    const rejected = deadLetteredOnce('rejected', 'rejected', q, toDlx, {
      headers: { app: 'x', n: 1 },
      properties: {
        content_type: 'text/plain',
        correlation_id: 'c-1',
        delivery_mode: 2,
        message_id: 'm-1',
        priority: 3,
      },
    })
    assertDeadLettered(o['dead'][0], rejected, later)
    // the expiration property is removed and kept as original-expiration
    const nacked = deadLetteredOnce('nacked', 'rejected', q, toDlx, { death: { 'original-expiration': '60000' } })
    assertDeadLettered(o['dead'][1], nacked, later)
    for (const [i, body] of [
      [2, 'multi-1'],
      [3, 'multi-2'],
    ] as const) {
      assertDeadLettered(o['dead'][i], deadLetteredOnce(body, 'rejected', q, toDlx), later)
    }
    assert.deepEqual(o['left'], ['requeued'], 'reject with requeue does not dead-letter')
    runLater(later)
  })

  it('without a dead-letter routing key the original routing keys are used (CC kept, BCC routes but is not listed)', async () => {
    const o = await scenario('extensions_dlx', 'original_routing_keys')
    const later: Later = []
    const src = o['src'] as string
    const q = o['queue'] as string
    const first = { reason: 'rejected', queue: q, exchange: src }
    const plainDeath: Death = { count: 1, reason: 'rejected', queue: q, exchange: src, 'routing-keys': ['orig'] }
    const ccDeath: Death = { ...plainDeath, 'routing-keys': ['orig', 'cc1'] }
    const withCc = {
      body: 'with-cc',
      exchange: o['dlx'],
      routingKey: 'orig',
      deaths: [[ccDeath, 'built']] as [Death, 'built'][],
      first,
      headers: { CC: ['cc1'] },
    }
    assert.deepEqual(bodies(o['to_orig']), ['plain', 'with-cc'])
    assertDeadLettered(
      o['to_orig'][0],
      {
        body: 'plain',
        exchange: o['dlx'],
        routingKey: 'orig',
        deaths: [[plainDeath, 'built']],
        first,
      },
      later,
    )
    assertDeadLettered(o['to_orig'][1], withCc, later)
    assert.equal(o['to_cc1'].length, 1)
    assertDeadLettered(o['to_cc1'][0], withCc, later)
    assert.equal(o['to_bcc1'].length, 1, 'the BCC routing key is used again when dead-lettering')
    assertDeadLettered(o['to_bcc1'][0], withCc, later)
    // with x-dead-letter-routing-key the CC header is removed
    assert.equal(o['with_dlrk'].length, 1)
    assertDeadLettered(
      o['with_dlrk'][0],
      {
        body: 'cc-with-dlrk',
        exchange: '',
        routingKey: o['dlq2'],
        deaths: [
          [
            { count: 1, reason: 'rejected', queue: o['queue2'], exchange: src, 'routing-keys': ['other', 'nowhere'] },
            'built',
          ],
        ],
        first: { reason: 'rejected', queue: o['queue2'], exchange: src },
        headers: { k: 'v' },
      },
      later,
    )
    runLater(later)
  })

  it('expiry (queue and message TTL) and max-length dead-letter with reasons expired and maxlen', async () => {
    const o = await scenario('extensions_dlx', 'expired_and_maxlen')
    const later: Later = []
    assert.deepEqual(bodies(o['dead']), ['maxlen-first', 'message-ttl', 'queue-ttl'])
    const toDlq = { exchange: '', routingKey: o['dlq'] }
    const dl = (body: string, reason: Death['reason'], queue: string, death: Partial<Death> = {}): DeadLettered =>
      deadLetteredOnce(body, reason, queue, toDlq, {
        death,
        headers: reason === 'expired' ? { keep: 'me' } : undefined,
      })
    assertDeadLettered(o['dead'][0], dl('maxlen-first', 'maxlen', o['q_max']), later)
    assertDeadLettered(o['dead'][1], dl('message-ttl', 'expired', o['q_msg'], { 'original-expiration': '100' }), later)
    assertDeadLettered(o['dead'][2], dl('queue-ttl', 'expired', o['q_ttl']), later)
    assert.deepEqual(o['max_left'], ['maxlen-second'])
    runLater(later)
  })

  it('x-death counts per queue and reason, newest first; x-first-death-* never change', async () => {
    const o = await scenario('extensions_dlx', 'count_and_first_death')
    const later: Later = []
    const [q1, q2] = [o['q1'] as string, o['q2'] as string]
    const hops = o['hops'] as Obs[]
    assert.deepEqual(
      hops.map((h) => h['from']),
      [q1, q2, q1, q2, q1],
    )
    assert.deepEqual(hops[0]!['message']['properties'], { headers: { 'a-user': 2, 'z-user': 1 } })
    assert.equal(hops[0]!['message']['x_death'], undefined)
    const d = (queue: string, count: number): Death => ({
      count,
      reason: 'rejected',
      queue,
      exchange: '',
      'routing-keys': [queue],
    })
    const expected: [Death, 'built' | 'sorted'][][] = [
      [[d(q1, 1), 'built']],
      [
        [d(q2, 1), 'sorted'],
        [d(q1, 1), 'built'],
      ],
      [
        [d(q1, 2), 'sorted'],
        [d(q2, 1), 'sorted'],
      ],
      [
        [d(q2, 2), 'sorted'],
        [d(q1, 2), 'sorted'],
      ],
    ]
    expected.forEach((deaths, i) => {
      const hop = hops[i + 1]!
      assertDeadLettered(
        hop['message'],
        {
          body: 'ball',
          exchange: '',
          routingKey: hop['from'],
          deaths,
          first: { reason: 'rejected', queue: q1, exchange: '' },
          headers: { 'a-user': 2, 'z-user': 1 },
        },
        later,
      )
    })
    runLater(later)
  })

  it('a fully automatic dead-letter cycle (expiry back into the same queue) is broken: the message is dropped', async () => {
    const o = await scenario('extensions_dlx', 'cycle_detection')
    const later: Later = []
    const self = o['self'] as Obs
    assert.equal(self['queue_count'], 0)
    assert.equal(self['spy'].length, 1, 'dead-lettered once (to the spy only), then never again')
    const loopSelf = deadLetteredOnce('loop-self', 'expired', self['queue'], {
      exchange: self['exchange'],
      routingKey: self['queue'],
    })
    assertDeadLettered(self['spy'][0], loopSelf, later)
    assert.equal(o['self_default']['queue_count'], 0)
    const pair = o['pair'] as Obs
    const [a, b] = [pair['a'] as string, pair['b'] as string]
    assert.equal(pair['a_count'], 0)
    assert.equal(pair['b_count'], 0)
    assert.equal(pair['spy'].length, 2, 'a → b, then b → a is a cycle: dropped (the spy still gets its copy)')
    const aDeath: Death = { count: 1, reason: 'expired', queue: a, exchange: '', 'routing-keys': [a] }
    const first = { reason: 'expired', queue: a, exchange: '' }
    assertDeadLettered(
      pair['spy'][0],
      deadLetteredOnce('loop-pair', 'expired', a, { exchange: pair['f1'], routingKey: a }),
      later,
    )
    assertDeadLettered(
      pair['spy'][1],
      {
        body: 'loop-pair',
        exchange: pair['f2'],
        routingKey: a,
        deaths: [
          [{ count: 1, reason: 'expired', queue: b, exchange: pair['f1'], 'routing-keys': [a] }, 'sorted'],
          [aDeath, 'built'],
        ],
        first,
      },
      later,
    )
    runLater(later)
  })

  it('dead-lettering to a missing exchange drops the message silently', async () => {
    const o = await scenario('extensions_dlx', 'missing_exchange')
    assert.equal(o['queue_count'], 0)
    assert.equal(o['channel_open'], true)
    assert.equal(o['connection_open'], true)
    assert.equal(o['exchange_absent'], 404, 'the dead-letter exchange is not created')
  })
})

describe('pika extensions: length limits and overflow', () => {
  it('x-max-length drops (and dead-letters) from the head; max-length 0 only passes to waiting consumers', async () => {
    const o = await scenario('extensions_limits', 'max_length_drop_head')
    assert.deepEqual(o['acks'], ['ack', 'ack', 'ack', 'ack', 'ack'])
    assert.equal(o['count'], 2)
    assert.deepEqual(o['kept'], ['m4', 'm5'])
    assert.deepEqual(o['dead'], [
      ['m1', 'maxlen', o['queue']],
      ['m2', 'maxlen', o['queue']],
      ['m3', 'maxlen', o['queue']],
    ])
    assert.equal(o['zero_ack'], 'ack')
    assert.equal(o['zero_count'], 0)
    assert.deepEqual(o['zero_consumer'], ['to-consumer'])
  })

  it('x-max-length-bytes counts body bytes; an oversized message empties the queue; both limits apply', async () => {
    const o = await scenario('extensions_limits', 'max_length_bytes')
    assert.equal(o['count'], 2)
    assert.deepEqual(o['kept'], ['cccc', 'dddd'])
    assert.equal(o['oversized_count'], 0)
    assert.deepEqual(o['both_by_length'], ['2', '3', '4'])
    assert.deepEqual(o['both_by_bytes'], ['bbb', 'cc'])
  })

  it('x-overflow reject-publish: confirms nack the publish (NackError), nothing is dead-lettered', async () => {
    const o = await scenario('extensions_limits', 'reject_publish')
    assert.deepEqual(o['results'].slice(0, 2), ['ack', 'ack'])
    assert.equal(o['results'][2]['exc'], 'NackError')
    assert.equal(o['channel_open'], true)
    assert.equal(o['count'], 2)
    assert.equal(o['with_unacked'], 'ack', 'only ready messages count towards the limit')
    assert.equal(o['full_again']['exc'], 'NackError')
    assert.deepEqual(o['kept'], ['m2', 'm4'])
    assert.equal(o['dlq_count'], 0)
    assert.equal(o['plain_count'], 2)
    assert.deepEqual(o['plain_kept'], ['p1', 'p2'], 'without confirms the refused message is dropped silently')
    assert.equal(o['plain_channel_open'], true)
    assert.equal(o['mandatory']['exc'], 'NackError', 'a refused mandatory message is nacked, not returned')
  })

  it('x-overflow reject-publish-dlx: nacked and dead-lettered with reason maxlen', async () => {
    const o = await scenario('extensions_limits', 'reject_publish_dlx')
    const later: Later = []
    assert.equal(o['results'][0], 'ack')
    assert.equal(o['results'][1]['exc'], 'NackError')
    assert.deepEqual(o['kept'], ['first'])
    assert.equal(o['dead'].length, 1)
    const toDlq = { exchange: '', routingKey: o['dlq'] }
    assertDeadLettered(
      o['dead'][0],
      deadLetteredOnce('second', 'maxlen', o['queue'], toDlq, { headers: { h: 1 } }),
      later,
    )
    runLater(later)
  })
})

describe('pika extensions: priority queues', () => {
  it('x-max-priority delivers highest first (above max counts as max, none as 0), FIFO within a priority', async () => {
    const o = await scenario('extensions_limits', 'priority_order')
    assert.deepEqual(o['order'], ['p10', 'p12', 'p5a', 'p5b', 'p3', 'p1', 'none', 'p0'])
    assert.deepEqual(o['priorities'], [10, 12, 5, 5, 3, 1, null, 0], 'the priority property is delivered unchanged')
    assert.deepEqual(o['fifo'], ['none', 'p1', 'p5a', 'p3', 'p10', 'p12', 'p5b', 'p0'])
    assert.deepEqual(o['after_requeue'], [
      ['r7', true],
      ['r4', false],
      ['r2', true],
    ])
    assert.equal(o['m7_tag_ok'], true)
  })

  it('a consumer with prefetch 1 gets the highest priority available each time', async () => {
    const o = await scenario('extensions_limits', 'priority_prefetch')
    assert.deepEqual(o['order'], ['low-first', 'p9', 'p8', 'p5', 'p5b', 'p2', 'none'])
    assert.equal(o['count_end'], 0)
  })
})

describe('pika extensions: routing', () => {
  it('alternate exchanges take unroutable messages (also mandatory ones), chained; a missing one returns', async () => {
    const o = await scenario('extensions_routing', 'alternate_exchange')
    assert.equal(o['routed'], 'ack')
    assert.equal(o['unrouted'], 'ack')
    assert.equal(o['mandatory'], 'ack', 'routed through the alternate exchange: not returned')
    const view = (ms: Obs[]): unknown[] => ms.map((m) => [m['body'], m['exchange'], m['routing_key'], m['properties']])
    assert.deepEqual(view(o['main_got']), [['to-main', o['main'], 'known', {}]])
    assert.deepEqual(view(o['alt_got']), [
      ['to-ae', o['main'], 'unknown', { headers: { h: 'v' } }],
      ['mandatory-to-ae', o['main'], 'unknown-2', {}],
    ])
    assert.deepEqual(o['missing_ae_mandatory'], { exc: 'UnroutableError', returned: [[312, 'NO_ROUTE', 'lost']] })
    assert.equal(o['missing_ae_plain'], 'ack')
    assert.equal(o['chained'], 'ack')
    assert.deepEqual(view(o['chain_got']), [['through-two-aes', o['chained_name'], 'a.b', {}]])
    assert.equal(o['channel_open'], true)
  })

  it('exchange-to-exchange bindings through three exchanges: one copy per queue, cycles are harmless', async () => {
    const o = await scenario('extensions_routing', 'exchange_chain')
    const [e1, e3] = [o['e1'] as string, o['e3'] as string]
    assert.deepEqual(
      o['end'].map((m: Obs) => [m['body'], m['exchange'], m['routing_key']]),
      [['a.b', e1, 'a.b']],
    )
    assert.deepEqual(o['dup'], [
      ['a.b', e1, 'a.b'],
      ['a.c', e1, 'a.c'],
      ['x', e1, 'x'],
    ])
    const cycle = [
      ['with-cycle', e1, 'a.b'],
      ['into-the-cycle', e3, 'anything'],
    ]
    assert.deepEqual(o['cycle_end'], cycle)
    assert.deepEqual(o['cycle_dup'], cycle)
    assert.equal(o['unbound'], 'ack')
    assert.deepEqual(o['end_after_unbind'], [])
    assert.deepEqual(o['dup_after_unbind'], ['cut'])
  })

  it('CC and BCC headers route to more keys; CC is delivered, BCC is removed; CC must be an array', async () => {
    const o = await scenario('extensions_routing', 'cc_bcc')
    const delivered = ['cc-bcc', 'r1', { CC: ['r2'], other: 'kept' }]
    assert.deepEqual(o['r1'], [delivered, ['cc-self', 'r1', { CC: ['r1', 'r1'] }]])
    assert.deepEqual(o['r2'], [delivered])
    assert.deepEqual(o['r3'], [delivered])
    assert.deepEqual(o['r4'], [['cc-only', 'nomatch', { CC: ['r4'] }]])
    assert.equal(o['default'], 'ack')
    assert.deepEqual(o['default_r1'], ['default-cc'])
    assert.deepEqual(
      o['default_r2'],
      [['default-cc', o['queues']['r1'], {}]],
      'the headers table is kept, empty, once BCC is removed',
    )
    assert.equal(o['bcc_only_mandatory'], 'ack')
    assert.deepEqual(o['r3_after'], ['bcc-only'])
    assertChannelError(
      o['cc_not_array'],
      406,
      'PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}',
    )
  })

  it('direct reply-to: replies reach the amq.rabbitmq.reply-to consumer through the rewritten reply_to', async () => {
    const o = await scenario('extensions_routing', 'direct_reply_to')
    const seen = o['seen_reply_to'] as string[]
    assert.equal(seen.length, 3)
    assert.ok(seen[0]!.startsWith(`${REPLY_TO}.`), seen[0])
    assert.ok(seen[0]!.length > REPLY_TO.length + 1)
    assert.deepEqual(seen, [seen[0], seen[0], seen[0]], 'one address per channel')
    assert.deepEqual(
      o['replies'],
      [0, 1, 2].map((i) => ({
        body: `REQUEST-${i}`,
        exchange: '',
        routing_key: seen[0],
        consumer_tag: o['consumer_tag'],
        redelivered: false,
        // RabbitMQ sends the channel's next delivery tag without advancing it
        delivery_tag: 1,
        correlation_id: `c-${i}`,
      })),
    )
    assert.equal(o['client_open'], true)
    assert.deepEqual(o['reply_after_gone'], { exc: 'UnroutableError', returned: [[312, 'NO_ROUTE', 'late']] })
    assert.equal(o['server_open'], true)
    // the pseudo-queue and the rewritten name can be declared passively (consumer_count 1)
    assert.deepEqual(o['passive_pseudo_queue'], [REPLY_TO, 0, 1])
    assert.deepEqual(o['passive_rewritten'], [seen[0], 0, 1])
  })

  it('direct reply-to: consuming with acks or publishing without a reply consumer on the channel is 406', async () => {
    const o = await scenario('extensions_routing', 'direct_reply_to_errors')
    assertChannelError(o['consume_without_auto_ack'], 406, 'PRECONDITION_FAILED - reply consumer cannot acknowledge')
    assertChannelError(o['publish_without_consumer'], 406, 'PRECONDITION_FAILED - fast reply consumer does not exist')
    assertChannelError(o['other_channel_consumer'], 406, 'PRECONDITION_FAILED - fast reply consumer does not exist')
    assert.equal(o['connection_open'], true)
  })
})

describe('pika extensions: consumers', () => {
  it('x-priority consumers get messages first while they have credit', async () => {
    const o = await scenario('extensions_consumers', 'consumer_priorities')
    assert.deepEqual(o['blocked_high'], { high: ['m1', 'm2'], low: ['m3', 'm4', 'm5'] })
    assert.deepEqual(o['unblocked'], { high: ['n1', 'n2', 'n3', 'n4'], mid: [], low: [] })
    assert.deepEqual(o['negative'], { default: ['k1', 'k2', 'k3'], neg: [] })
  })

  it('x-single-active-consumer: one consumer gets everything until it cancels; failover requeues', async () => {
    const o = await scenario('extensions_consumers', 'single_active_consumer')
    assert.deepEqual(o['before_cancel'], { c1: ['a1', 'a2', 'a3', 'a4'], c2: [] })
    assert.deepEqual(o['counts'], { messages: 0, consumers: 2 })
    assert.deepEqual(o['after_cancel'], { c1: ['a1', 'a2', 'a3', 'a4'], c2: ['b1', 'b2'] })
    assert.deepEqual(o['failover'], { c1: [['held', false]], c2: [['held', true]] })
    assertChannelError(
      o['redeclare'],
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-single-active-consumer' for queue '${o['queue']}' in vhost '/': ` +
        "received none but current is the value 'true' of type 'bool'",
    )
  })

  it('exclusive consumers: any other consumer is refused with 403; basic.get is allowed', async () => {
    const o = await scenario('extensions_consumers', 'exclusive_consumer')
    for (const key of ['second_same_connection', 'second_other_connection', 'second_exclusive']) {
      assertChannelError(o[key], 403, EXCLUSIVE_USE(o['queue']))
    }
    assert.equal(o['get_allowed'], true)
    assert.deepEqual(o['got'], ['to-exclusive'])
    assert.equal(o['after_cancel_ok'], true)
    assertChannelError(o['exclusive_on_busy'], 403, EXCLUSIVE_USE(o['queue2']))
    assert.equal(o['connection_open'], true)
  })

  it('deleting a queue sends basic.cancel to every consumer on every channel and connection', async () => {
    const o = await scenario('extensions_consumers', 'cancel_on_delete')
    const tags = o['tags'] as Record<string, string>
    const expected = [
      ['a1', tags['a1'], true],
      ['a1', tags['a1b'], true],
      ['a2', tags['a2'], true],
      ['b1', tags['b1'], true],
    ]
    const key = (x: unknown): string => JSON.stringify(x)
    assert.deepEqual(
      [...o['cancelled']].sort((x, y) => key(x).localeCompare(key(y))),
      expected.sort((x, y) => key(x).localeCompare(key(y))),
    )
    assert.deepEqual(o['channels_open'], { a1: true, a2: true, b1: true })
    assert.deepEqual(o['consumer_tags_after'], { a1: [], a2: [], b1: [] })
    assert.equal(o['delete_message_count'], 0)
    assert.equal(o['usable'], true)
  })
})
