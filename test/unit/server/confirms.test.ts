// The confirm record of a channel (src/server/confirms.ts) under random interleavings of publishes (acked,
// refused, stored in the current store batch), batch commits, and batches settling durable or failed in
// order: every tag is settled exactly once, in publish order, with its outcome, and no basic.ack covers a
// tag before its batch is durable.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { DurableWaiter } from '../../../src/broker/durability.js'
import { CONFIRM_ACK, CONFIRM_NACK, Confirms } from '../../../src/server/confirms.js'
import type { Method } from '../../../src/protocol/generated/methods.js'

type Step = 'ack' | 'nack' | 'store' | 'commit' | 'durable' | 'fail' | 'tick'

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve))

/** A fake store's batches: writes go to `current`; commits settle in order, oldest first. */
class Batches {
  current = 1
  settled = 0
  readonly durable = new Set<number>()
  private readonly waiters = new Set<DurableWaiter>()

  wait(waiter: DurableWaiter): void {
    this.waiters.add(waiter)
  }

  commit(): void {
    this.current++
  }

  /** Settles the oldest committed batch, if any. */
  settle(durable: boolean): void {
    if (this.settled + 1 >= this.current) return
    const batch = ++this.settled
    if (durable) this.durable.add(batch)
    for (const w of this.waiters) {
      if (!(durable ? w.onDurable(batch) : w.onBatchFailed(batch))) this.waiters.delete(w)
    }
  }
}

async function run(steps: Step[]): Promise<void> {
  const batches = new Batches()
  const problems: string[] = []
  /** What each tag must come to: 'ack', 'nack', or the batch it was stored in */
  const expected: (string | number)[] = [0]
  const outcomes: (string | undefined)[] = [undefined]
  let lastFrameTag = 0
  const channel = {
    isOpen: true,
    send(m: Method): void {
      if (m.name !== 'basic.ack' && m.name !== 'basic.nack') return void problems.push(`unexpected ${m.name}`)
      const kind = m.name === 'basic.ack' ? 'ack' : 'nack'
      if (m.deliveryTag <= lastFrameTag) problems.push(`${kind} ${m.deliveryTag} after ${lastFrameTag}`)
      lastFrameTag = m.deliveryTag
      for (let tag = m.multiple ? 1 : m.deliveryTag; tag <= m.deliveryTag; tag++) {
        if (outcomes[tag] !== undefined) {
          if (!m.multiple) problems.push(`tag ${tag} settled twice`)
          continue
        }
        outcomes[tag] = kind
        const want = expected[tag]
        if (typeof want === 'number') {
          // A stored publish: acked only once its batch is durable, nacked only if it failed
          const isDurable = batches.durable.has(want)
          if (want > batches.settled) problems.push(`${kind} ${tag} before its batch ${want} settled`)
          else if ((kind === 'ack') !== isDurable)
            problems.push(`${kind} ${tag}, its batch ${want} durable: ${isDurable}`)
        } else if (want !== kind) problems.push(`${kind} ${tag}, expected ${want}`)
      }
      for (let tag = 1; tag < m.deliveryTag; tag++) {
        if (outcomes[tag] === undefined) problems.push(`${kind} ${m.deliveryTag} before tag ${tag}`)
      }
    },
  }
  const confirms = new Confirms(channel, batches)
  for (const step of steps) {
    switch (step) {
      case 'ack':
        expected.push('ack')
        confirms.record(CONFIRM_ACK)
        break
      case 'nack':
        expected.push('nack')
        confirms.record(CONFIRM_NACK)
        break
      case 'store':
        expected.push(batches.current)
        confirms.record(batches.current)
        break
      case 'commit':
        batches.commit()
        break
      case 'durable':
      case 'fail':
        batches.settle(step === 'durable')
        break
      case 'tick':
        await nextTick()
        break
    }
  }
  // Everything still in flight is committed and synced
  batches.commit()
  while (batches.settled + 1 < batches.current) batches.settle(true)
  await nextTick()
  const tags = expected.length - 1
  for (let tag = 1; tag <= tags; tag++) if (outcomes[tag] === undefined) problems.push(`tag ${tag} never settled`)
  assert.deepEqual(problems, [], `steps: ${steps.join(' ')}`)
}

test('the sequence of issue 7 item 1: ack, nack, nack, ack, nack, ack', async () => {
  await run(['store', 'nack', 'nack', 'store', 'nack', 'store', 'commit', 'durable', 'tick'])
})

test('random interleavings settle every tag once, in order, truthfully', async () => {
  const step = fc.constantFrom<Step>('ack', 'nack', 'store', 'store', 'commit', 'durable', 'durable', 'fail', 'tick')
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 60 }), (steps) => run(steps)),
    { numRuns: 500 },
  )
})
