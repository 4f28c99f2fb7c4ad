// A vhost whose definitions log cannot write (disk full): every durable change is stored before it is made
// in memory, so a refused one (506 RESOURCE_ERROR, a channel error) leaves the vhost as it was. Changes the
// broker makes by itself (auto-delete, x-expires) are kept undone, logged, and tried again later.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MessageMemory } from '../../../src/broker/message-memory.js'
import { Vhost } from '../../../src/broker/vhost.js'
import { ChannelError } from '../../../src/protocol/errors.js'
import type { DefinitionChange } from '../../../src/store/definitions-log.js'
import { errnoError } from '../../helpers/faulty-fs.js'
import { capturingLogger } from '../store/store-helpers.js'

/** A vhost whose record fails, with the errno given, for the ops listed in `failing` (all while it has '*'). */
function vhostWithFailingLog() {
  const { log, warnings } = capturingLogger()
  const failing = new Set<string>()
  const recorded: DefinitionChange[] = []
  const record = (change: DefinitionChange): void => {
    if (failing.has('*') || failing.has(change.op)) throw errnoError('ENOSPC', 'write')
    recorded.push(change)
  }
  const vhost = new Vhost('/', log, new MessageMemory(1 << 30), { record })
  return { vhost, failing, recorded, warnings }
}

const owner = {}
const durable = { durable: true, exclusive: false, autoDelete: false, arguments: {} }
const exchangeOptions = { durable: true, autoDelete: false, internal: false, arguments: {} }

function assertRefused(run: () => unknown, text: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ChannelError, String(error))
    assert.equal(error.replyCode, 506)
    assert.equal(error.message, `RESOURCE_ERROR - ${text}`)
    return true
  })
}

test('a durable declare that cannot be stored is refused with 506, and nothing is declared', () => {
  const { vhost, failing, recorded } = vhostWithFailingLog()
  failing.add('*')
  assertRefused(
    () => vhost.declareExchange('x', 'direct', exchangeOptions, false),
    "cannot store the definition of exchange 'x' in vhost '/': ENOSPC",
  )
  assert.equal(vhost.exchanges.has('x'), false)
  assertRefused(
    () => vhost.declareQueue('q', durable, false, owner),
    "cannot store the definition of queue 'q' in vhost '/': ENOSPC",
  )
  assert.equal(vhost.queues.has('q'), false)
  // Transient and exclusive ones are never stored, so they are declared
  vhost.declareExchange('t', 'direct', { ...exchangeOptions, durable: false }, false)
  vhost.declareQueue('mine', { ...durable, exclusive: true }, false, owner).queue.delete()
  failing.clear()
  vhost.declareExchange('x', 'direct', exchangeOptions, false)
  vhost.declareQueue('q', durable, false, owner)
  assert.deepEqual(
    recorded.map((c) => c.op),
    ['exchange.add', 'queue.add'],
  )
  vhost.queues.get('q')!.delete()
})

test('a binding, an unbinding, a deletion that cannot be stored is refused, and nothing changes', () => {
  const { vhost, failing } = vhostWithFailingLog()
  const exchange = vhost.declareExchange('x', 'direct', exchangeOptions, false)
  const queue = vhost.declareQueue('q', durable, false, owner).queue
  vhost.bindQueue('q', 'x', 'k', {}, owner)
  failing.add('*')
  assertRefused(
    () => vhost.bindQueue('q', 'x', 'other', {}, owner),
    "cannot store the binding of queue 'q' to exchange 'x' in vhost '/': ENOSPC",
  )
  assertRefused(
    () => vhost.bindExchange('x', 'amq.direct', 'k', {}),
    "cannot store the binding of exchange 'x' to exchange 'amq.direct' in vhost '/': ENOSPC",
  )
  assert.equal(exchange.bindings.size, 1)
  assert.equal(vhost.exchanges.get('amq.direct')!.bindings.size, 0)
  assertRefused(
    () => vhost.unbindQueue('q', 'x', 'k', {}, owner),
    "cannot store the removal of the binding of queue 'q' to exchange 'x' in vhost '/': ENOSPC",
  )
  assert.equal(exchange.bindings.size, 1)
  assertRefused(
    () => vhost.deleteQueue('q', false, false, owner),
    "cannot store the deletion of queue 'q' in vhost '/': ENOSPC",
  )
  assert.equal(vhost.queues.get('q'), queue)
  assert.equal(exchange.bindings.size, 1, 'the queue keeps its bindings')
  assertRefused(
    () => vhost.deleteExchange('x', false),
    "cannot store the deletion of exchange 'x' in vhost '/': ENOSPC",
  )
  assert.equal(vhost.exchanges.get('x'), exchange)
  // Unbinding or deleting what is not there stores nothing, and succeeds
  vhost.unbindQueue('q', 'x', 'nothing', {}, owner)
  vhost.deleteQueue('none', false, false, owner)
  failing.clear()
  vhost.deleteQueue('q', false, false, owner)
  assert.equal(vhost.queues.has('q'), false)
  assert.equal(exchange.bindings.size, 0)
})

test('policies: one that cannot be stored is not set, and one whose removal cannot be stored stays', () => {
  const { vhost, failing } = vhostWithFailingLog()
  const policy = { vhost: '/', name: 'p', pattern: '.*', applyTo: 'queues' as const, priority: 0, definition: {} }
  failing.add('*')
  assertRefused(() => vhost.setPolicy(policy), "cannot store the policy 'p' in vhost '/': ENOSPC")
  assert.equal(vhost.policies.has('p'), false)
  failing.clear()
  vhost.setPolicy(policy)
  failing.add('*')
  assertRefused(() => vhost.clearPolicy('p'), "cannot store the removal of policy 'p' in vhost '/': ENOSPC")
  assert.equal(vhost.policies.has('p'), true)
})

test('an auto-delete exchange whose deletion cannot be stored is kept, with an error logged', () => {
  const { vhost, failing, warnings } = vhostWithFailingLog()
  const exchange = vhost.declareExchange('auto', 'direct', { ...exchangeOptions, autoDelete: true }, false)
  vhost.declareQueue('q', durable, false, owner)
  vhost.bindQueue('q', 'auto', 'k', {}, owner)
  failing.add('exchange.remove')
  vhost.unbindQueue('q', 'auto', 'k', {}, owner)
  assert.equal(exchange.bindings.size, 0, 'the unbinding is made')
  assert.equal(vhost.exchanges.get('auto'), exchange, 'the exchange stays, as stored')
  assert.ok(warnings().some((w) => /auto-delete exchange kept/.test(w.msg)))
  vhost.queues.get('q')!.delete()
})

test('a queue whose x-expires deletion cannot be stored is kept, and deleted when it expires again', async () => {
  const { vhost, failing, warnings } = vhostWithFailingLog()
  const queue = vhost.declareQueue('q', { ...durable, arguments: { 'x-expires': 30 } }, false, owner).queue
  failing.add('queue.remove')
  await new Promise((resolve) => setTimeout(resolve, 60))
  assert.equal(vhost.queues.get('q'), queue, 'kept while its deletion cannot be stored')
  assert.ok(warnings().some((w) => /unused queue kept/.test(w.msg)))
  failing.clear()
  const deadline = Date.now() + 2000
  while (vhost.queues.has('q') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.equal(vhost.queues.has('q'), false, 'deleted at the next expiry')
})
