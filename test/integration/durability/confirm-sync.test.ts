// Confirms against the store's syncs, with the fdatasyncs of the message store held back (or failed) by the
// test: no basic.ack may reach the client before the publishes it covers are on disk, whatever was
// published after them (direct reply-to, transient or refused messages), and a failed batch nacks exactly
// its own publishes. Also the configured maximum message size. Warren only: it reaches into the store.
import { describe, test, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib'
import { nodeFileSystem } from '../../../src/store/file-io.js'
import {
  consume,
  expectChannelError,
  openChannel,
  openConfirmChannel,
  roundTrip,
  txCommit,
  txSelect,
  withTimeout,
} from '../../helpers/amqplib.js'
import { startBroker, type InProcessBroker } from '../../helpers/broker.js'

const skip = process.env['WARREN_TEST_URL'] ? 'holds the syncs of an in-process broker' : false

interface HeldSync {
  fd: number
  release(): void
  fail(error: Error): void
}

/** Holds every fdatasync of the message store until the test releases or fails it. */
class SyncGate {
  private readonly original = nodeFileSystem.datasync
  readonly held: HeldSync[] = []
  private passThrough = false
  private wake: (() => void) | undefined

  install(): void {
    nodeFileSystem.datasync = (fd) => {
      if (this.passThrough) return this.original(fd)
      return new Promise<void>((resolve, reject) => {
        this.held.push({
          fd,
          release: () => void this.original(fd).then(resolve, reject),
          fail: (error) => reject(error),
        })
        this.wake?.()
      })
    }
  }

  restore(): void {
    nodeFileSystem.datasync = this.original
  }

  async waitForHeld(count: number): Promise<void> {
    if (this.held.length >= count) return
    await withTimeout(
      new Promise<void>((resolve) => (this.wake = () => this.held.length >= count && resolve())),
      5000,
      `${count} held syncs (have ${this.held.length})`,
    )
  }

  /** Releases what is held and lets every later sync through. */
  open(): void {
    this.passThrough = true
    for (const sync of this.held.splice(0)) sync.release()
  }
}

type Outcome = 'ack' | 'nack'

/** Each tag's outcome (multiple expanded), with the store's durable batch when the frame arrived. */
function recordConfirms(ch: ConfirmChannel) {
  const outcomes: (Outcome | undefined)[] = []
  const frames: string[] = []
  const problems: string[] = []
  let wake: (() => void) | undefined
  const settle = (kind: Outcome, f: { deliveryTag: number; multiple: boolean }) => {
    frames.push(`${kind} ${f.deliveryTag}${f.multiple ? ' multiple' : ''}`)
    for (let tag = f.multiple ? 1 : f.deliveryTag; tag <= f.deliveryTag; tag++) {
      if (outcomes[tag] === undefined) outcomes[tag] = kind
      else if (!f.multiple) problems.push(`tag ${tag} settled twice`)
    }
    for (let tag = 1; tag < f.deliveryTag; tag++) {
      if (outcomes[tag] === undefined) problems.push(`${kind} ${f.deliveryTag} before tag ${tag} was settled`)
    }
    wake?.()
  }
  ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => settle('ack', f))
  ch.on('nack', (f: { deliveryTag: number; multiple: boolean }) => settle('nack', f))
  return {
    outcomes,
    frames,
    problems,
    async settled(count: number): Promise<Outcome[]> {
      const done = () => outcomes.slice(1, count + 1).filter((o) => o !== undefined).length === count
      if (!done()) {
        await withTimeout(
          new Promise<void>((resolve) => (wake = () => done() && resolve())),
          5000,
          `confirms of ${count} tags; heard: ${frames.join(', ')}`,
        )
      }
      return outcomes.slice(1, count + 1) as Outcome[]
    },
  }
}

describe('confirms and the store syncs', { skip }, () => {
  let server: InProcessBroker
  let conn: ChannelModel
  const gate = new SyncGate()

  // A broker each: a failed sync may leave the store refusing writes
  beforeEach(async () => {
    server = await startBroker({ inProcess: true, maxMessageSize: 1024 })
    conn = await amqp.connect(server.url)
  })
  afterEach(async () => {
    gate.restore()
    await conn.close().catch(() => {})
    await server.stop()
  })

  test('a direct reply-to publish is not acked before earlier persistent ones are synced', async () => {
    const setup = await openChannel(conn)
    await setup.assertQueue('durable', { durable: true })
    await setup.assertQueue('durable-b', { durable: true })
    await setup.assertExchange('both', 'fanout', { durable: false })
    await setup.bindQueue('durable', 'both', '')
    await setup.bindQueue('durable-b', 'both', '')
    await setup.assertQueue('rpc', { durable: false })
    const requester = await openChannel(conn)
    const replies = await consume(requester, 'amq.rabbitmq.reply-to', { noAck: true })
    requester.sendToQueue('rpc', Buffer.from('request'), { replyTo: 'amq.rabbitmq.reply-to' })
    await roundTrip(requester)
    const request = await setup.get('rpc', { noAck: true })
    assert.ok(request, 'the request reached its queue')
    const ch = await openConfirmChannel(conn)
    const confirms = recordConfirms(ch)

    gate.install()
    try {
      ch.sendToQueue('durable', Buffer.from('persistent'), { persistent: true })
      ch.sendToQueue(String(request.properties.replyTo), Buffer.from('reply'))
      ch.publish('both', '', Buffer.from('stored twice'), { persistent: true })
      ch.sendToQueue(String(request.properties.replyTo), Buffer.from('reply'))
      await gate.waitForHeld(1)
      // The reply is delivered at once, and a round trip behind both publishes has come back: an ack sent
      // for them would have arrived before it
      await replies.inbox.waitFor(2)
      await roundTrip(ch)
      assert.deepEqual(confirms.frames, [], 'no confirm while the persistent message is not synced')
      gate.open()
      assert.deepEqual(await confirms.settled(4), ['ack', 'ack', 'ack', 'ack'])
      assert.deepEqual(confirms.problems, [])
    } finally {
      // A held sync left behind would stall every later commit
      gate.open()
      gate.restore()
    }
  })

  test('a failed batch nacks exactly its publishes; the ones behind it keep their order', async () => {
    const setup = await openChannel(conn)
    await setup.assertQueue('durable2', { durable: true })
    await setup.assertQueue('transient', { durable: false })
    await setup.assertQueue('full', {
      durable: false,
      arguments: { 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    })
    const ch = await openConfirmChannel(conn)
    const confirms = recordConfirms(ch)
    const gate2 = new SyncGate()
    gate2.install()
    try {
      ch.sendToQueue('durable2', Buffer.from('1 in the failing batch'), { persistent: true })
      await gate2.waitForHeld(1)
      // The commit of the first batch is running: these go to the next one, or are settled without the store
      ch.sendToQueue('transient', Buffer.from('2 transient'))
      ch.sendToQueue('durable2', Buffer.from('3 next batch'), { persistent: true })
      ch.sendToQueue('full', Buffer.from('4 refused'))
      ch.sendToQueue('transient', Buffer.from('5 transient'))
      await roundTrip(ch)
      assert.deepEqual(confirms.frames, [], 'nothing is settled while the head waits for its sync')
      const failed = gate2.held.splice(0)
      gate2.open()
      for (const sync of failed) sync.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }))
      const outcomes = await confirms.settled(5)
      assert.equal(outcomes[0], 'nack', `frames: ${confirms.frames.join(', ')}`)
      assert.equal(outcomes[1], 'ack')
      // Tag 3 was stored in the next batch: acked if the store carried on after the failure, else nacked
      assert.ok(outcomes[2] === 'ack' || outcomes[2] === 'nack')
      assert.equal(outcomes[3], 'nack')
      assert.equal(outcomes[4], 'ack')
      assert.deepEqual(confirms.problems, [], `frames: ${confirms.frames.join(', ')}`)
    } finally {
      gate2.open()
      gate2.restore()
    }
  })

  test('a transaction whose sync fails is refused as a whole (406 partial tx completion)', async () => {
    const setup = await openChannel(conn)
    await setup.assertQueue('tx-transient', { durable: false })
    await setup.assertQueue('durable2', { durable: true })
    const tx = await openChannel(conn)
    await txSelect(tx)
    const gate3 = new SyncGate()
    gate3.install()
    try {
      tx.sendToQueue('tx-transient', Buffer.from('in memory'))
      tx.sendToQueue('durable2', Buffer.from('persistent'), { persistent: true })
      const commit = txCommit(tx)
      await gate3.waitForHeld(1)
      for (const sync of gate3.held.splice(0)) sync.fail(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }))
      gate3.open()
      await expectChannelError(tx, commit, {
        code: 406,
        text: 'PRECONDITION_FAILED - partial tx completion',
        classId: 90,
        methodId: 20,
      })
    } finally {
      gate3.open()
      gate3.restore()
    }
  })

  test('a message over the configured max size closes the channel with 406', async () => {
    const setup = await openChannel(conn)
    await setup.assertQueue('sized', { durable: false })
    const ch = await openConfirmChannel(conn)
    const confirms = recordConfirms(ch)
    ch.sendToQueue('sized', Buffer.alloc(1024))
    assert.deepEqual(await confirms.settled(1), ['ack'], 'exactly the limit is accepted')
    await expectChannelError(ch, () => ch.sendToQueue('sized', Buffer.alloc(1025)), {
      code: 406,
      text: 'PRECONDITION_FAILED - message size 1025 is larger than configured max size 1024',
      classId: 60,
      methodId: 40,
    })
  })
})
