// Publisher confirms where features meet: durable publishes waiting for their sync interleaved with
// refused (x-overflow reject-publish), transient, unroutable and direct reply-to publishes on one confirm
// channel. Every tag must be settled exactly once with the right outcome, and no basic.ack (multiple=true
// least of all) may cover a tag that was refused or is not yet on disk.
//
// Warren runs as a child process here: a broker frozen in a loop must fail the test, not freeze the test
// process with it. WARREN_TEST_URL checks the same expectations against RabbitMQ.
import { describe, test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib'
import fc from 'fast-check'
import { startBrokerProcess, stopAllBrokerProcesses } from '../../helpers/broker-process.js'
import {
  Scope,
  TEST_TIMEOUT,
  consume,
  expectChannelError,
  openChannel,
  roundTrip,
  sleep,
  txCommit,
  txSelect,
  waitForMessageCount,
  withTimeout,
} from '../../helpers/amqplib.js'

type Outcome = 'ack' | 'nack'

interface ConfirmFrame {
  deliveryTag: number
  multiple: boolean
}

/**
 * Records what a confirm channel hears: each basic.ack / basic.nack frame, and each tag's outcome with
 * multiple=true expanded as a client does (every unsettled tag up to the frame's).
 */
class ConfirmRecorder {
  published = 0
  readonly frames: string[] = []
  readonly outcomes: (Outcome | undefined)[] = []
  /** Tags settled twice, or frames for tags never published */
  readonly problems: string[] = []
  /** Frames that left an earlier tag unsettled (Warren settles in publish order; RabbitMQ need not) */
  readonly outOfOrder: string[] = []
  private wake: (() => void) | undefined

  constructor(readonly ch: ConfirmChannel) {
    ch.on('ack', (f: ConfirmFrame) => this.settle('ack', f))
    ch.on('nack', (f: ConfirmFrame) => this.settle('nack', f))
  }

  publish(exchange: string, routingKey: string, options: Options.Publish = {}): number {
    this.ch.publish(exchange, routingKey, Buffer.from(`m${this.published + 1}`), options)
    return ++this.published
  }

  private settle(kind: Outcome, { deliveryTag, multiple }: ConfirmFrame): void {
    const frame = `${kind} ${deliveryTag}${multiple ? ' multiple' : ''}`
    this.frames.push(frame)
    if (deliveryTag < 1 || deliveryTag > this.published) this.problems.push(`${frame}: tag never published`)
    if (multiple) {
      for (let tag = 1; tag <= deliveryTag; tag++) this.outcomes[tag] ??= kind
    } else {
      if (this.outcomes[deliveryTag] !== undefined) this.problems.push(`${frame}: tag settled twice`)
      this.outcomes[deliveryTag] = kind
    }
    for (let tag = 1; tag < deliveryTag; tag++) {
      if (this.outcomes[tag] === undefined) {
        this.outOfOrder.push(`${frame} before tag ${tag}`)
        break
      }
    }
    this.wake?.()
  }

  /** The outcomes of tags from..to once all are settled. */
  async outcomesOf(from: number, to: number, ms = 5000): Promise<Outcome[]> {
    const settled = () => {
      for (let tag = from; tag <= to; tag++) if (this.outcomes[tag] === undefined) return false
      return true
    }
    if (!settled()) {
      const done = new Promise<void>((resolve) => {
        this.wake = () => settled() && resolve()
      })
      await withTimeout(done, ms, `confirms of tags ${from}..${to}; heard: ${this.frames.join(', ')}`).finally(
        () => (this.wake = undefined),
      )
    }
    return this.outcomes.slice(from, to + 1) as Outcome[]
  }
}

const REPLY_TO = 'amq.rabbitmq.reply-to'

/** The queues and addresses a confirm channel publishes to, and the outcome each must get. */
interface Targets {
  durable: string
  transient: string
  /** x-max-length 0 with x-overflow reject-publish: refuses every message */
  full: string
  /** A fanout exchange to two durable queues */
  toTwoDurable: string
  /** A fanout exchange to a durable queue and the full one */
  toDurableAndFull: string
  /** A direct reply-to address of a consumer on another channel */
  replyAddress: string
}

const OPERATIONS = {
  durable: (r: ConfirmRecorder, t: Targets) => r.publish('', t.durable, { persistent: true }),
  transient: (r: ConfirmRecorder, t: Targets) => r.publish('', t.transient),
  full: (r: ConfirmRecorder, t: Targets) => r.publish('', t.full, { persistent: true }),
  unroutable: (r: ConfirmRecorder) => r.publish('', 'warren-test.confirm-edges.no-such-queue', { persistent: true }),
  reply: (r: ConfirmRecorder, t: Targets) => r.publish('', t.replyAddress),
  twoDurable: (r: ConfirmRecorder, t: Targets) => r.publish(t.toTwoDurable, '', { persistent: true }),
  durableAndFull: (r: ConfirmRecorder, t: Targets) => r.publish(t.toDurableAndFull, '', { persistent: true }),
} as const
type Operation = keyof typeof OPERATIONS

const EXPECTED: Record<Operation, Outcome> = {
  durable: 'ack',
  transient: 'ack',
  full: 'nack',
  unroutable: 'ack',
  reply: 'ack',
  twoDurable: 'ack',
  durableAndFull: 'nack',
}

describe('confirms at the edges', () => {
  let url: string
  let external: boolean
  let scope: Scope

  before(async () => {
    const externalUrl = process.env['WARREN_TEST_URL']
    external = externalUrl !== undefined
    url = externalUrl ?? (await startBrokerProcess()).url
    scope = new Scope(url, 'confirm-edges')
  })
  after(async () => {
    await scope.cleanup()
    await stopAllBrokerProcesses()
  })

  /** A confirm channel with every kind of target declared. */
  async function setUp(): Promise<{ conn: ChannelModel; recorder: ConfirmRecorder; targets: Targets }> {
    const conn = await scope.connect()
    const ch = await conn.createConfirmChannel()
    const setup = await openChannel(conn)
    const durable = scope.queue('durable')
    const durable2 = scope.queue('durable2')
    const transient = scope.queue('transient')
    const full = scope.queue('full')
    await setup.assertQueue(durable, { durable: true })
    await setup.assertQueue(durable2, { durable: true })
    await setup.assertQueue(transient, { durable: false })
    await setup.assertQueue(full, { durable: false, arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' } })
    const toTwoDurable = scope.exchange('two-durable')
    const toDurableAndFull = scope.exchange('durable-and-full')
    await setup.assertExchange(toTwoDurable, 'fanout', { durable: false })
    await setup.assertExchange(toDurableAndFull, 'fanout', { durable: false })
    await setup.bindQueue(durable, toTwoDurable, '')
    await setup.bindQueue(durable2, toTwoDurable, '')
    await setup.bindQueue(durable, toDurableAndFull, '')
    await setup.bindQueue(full, toDurableAndFull, '')
    // A reply address: the one a request from a reply-to consumer carries
    const requester = await openChannel(conn)
    await consume(requester, REPLY_TO, { noAck: true })
    const rpc = scope.queue('rpc')
    await setup.assertQueue(rpc, { durable: false })
    requester.sendToQueue(rpc, Buffer.from('request'), { replyTo: REPLY_TO })
    let request = await setup.get(rpc, { noAck: true })
    for (let i = 0; i < 50 && request === false; i++) {
      await sleep(20)
      request = await setup.get(rpc, { noAck: true })
    }
    assert.ok(request, 'the request reached its queue')
    const replyAddress = String(request.properties.replyTo)
    const targets = { durable, transient, full, toTwoDurable, toDurableAndFull, replyAddress }
    return { conn, recorder: new ConfirmRecorder(ch), targets }
  }

  /** Publishes the operations in one burst; returns the outcomes and the expected ones. */
  async function burst(recorder: ConfirmRecorder, targets: Targets, operations: Operation[]) {
    const first = recorder.published + 1
    for (const op of operations) OPERATIONS[op](recorder, targets)
    const outcomes = await recorder.outcomesOf(first, recorder.published)
    return { outcomes, expected: operations.map((op) => EXPECTED[op]) }
  }

  function assertClean(recorder: ConfirmRecorder): void {
    assert.deepEqual(recorder.problems, [], `frames: ${recorder.frames.join(', ')}`)
    if (!external) assert.deepEqual(recorder.outOfOrder, [], `frames: ${recorder.frames.join(', ')}`)
  }

  test('a refused publish between durable ones is nacked, never covered by an ack', TEST_TIMEOUT, async () => {
    const { conn, recorder, targets } = await setUp()
    // The sequence of issue 7, item 1, then variants of it; repeated so that syncs land at various points
    const sequences: Operation[][] = [
      ['durable', 'full', 'full', 'durable', 'full', 'durable'],
      ['durable', 'full', 'durable'],
      ['durable', 'durable', 'full'],
      ['full', 'durable', 'full', 'transient', 'full', 'durable'],
    ]
    for (let round = 0; round < 10; round++) {
      for (const operations of sequences) {
        const { outcomes, expected } = await burst(recorder, targets, operations)
        assert.deepEqual(outcomes, expected, `${operations.join(', ')}; frames: ${recorder.frames.join(', ')}`)
      }
    }
    assertClean(recorder)
    await conn.close()
  })

  test('two nacks waiting behind a pending sync settle, and the broker carries on', TEST_TIMEOUT, async () => {
    const { conn, recorder, targets } = await setUp()
    const { outcomes, expected } = await burst(recorder, targets, ['durable', 'full', 'full'])
    assert.deepEqual(outcomes, expected, `frames: ${recorder.frames.join(', ')}`)
    await roundTrip(recorder.ch)
    const again = await burst(recorder, targets, ['full', 'full', 'durable', 'full', 'full', 'durable'])
    assert.deepEqual(again.outcomes, again.expected, `frames: ${recorder.frames.join(', ')}`)
    assertClean(recorder)
    await conn.close()
  })

  test('a reply to a direct reply-to address is acked in its turn', TEST_TIMEOUT, async () => {
    const { conn, recorder, targets } = await setUp()
    const { outcomes, expected } = await burst(recorder, targets, ['durable', 'reply', 'full', 'reply', 'durable'])
    assert.deepEqual(outcomes, expected, `frames: ${recorder.frames.join(', ')}`)
    assertClean(recorder)
    await conn.close()
  })

  test('a transaction with a refused publish fails as a whole; its other publishes stand', TEST_TIMEOUT, async () => {
    const { conn, targets } = await setUp()
    const tx = await openChannel(conn)
    await txSelect(tx)
    tx.sendToQueue(targets.transient, Buffer.from('kept'))
    tx.sendToQueue(targets.durable, Buffer.from('kept too'), { persistent: true })
    tx.sendToQueue(targets.full, Buffer.from('refused'), { persistent: true })
    await expectChannelError(tx, txCommit(tx), {
      code: 406,
      text: 'PRECONDITION_FAILED - partial tx completion',
      classId: 90,
      methodId: 20,
    })
    const check = await openChannel(conn)
    await waitForMessageCount(check, targets.transient, 1)
    await waitForMessageCount(check, targets.durable, 1)
    await conn.close()
  })

  test('random interleavings: every tag settled once, in order, with its outcome', { timeout: 60_000 }, async () => {
    const { conn, recorder, targets } = await setUp()
    const operations = Object.keys(OPERATIONS) as Operation[]
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...operations), { minLength: 1, maxLength: 25 }), async (ops) => {
        const { outcomes, expected } = await burst(recorder, targets, ops)
        assert.deepEqual(outcomes, expected, `${ops.join(', ')}; frames: ${recorder.frames.slice(-30).join(', ')}`)
        assertClean(recorder)
      }),
      { numRuns: 40 },
    )
    await conn.close()
  })
})
