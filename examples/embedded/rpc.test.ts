// The RPC module's tests: an embedded Warren is started once for the file (in memory, on a free port), and
// the module is exercised through amqplib exactly as it would run against RabbitMQ. Run with
// `node --test dist/examples/embedded/` (part of `npm test`); docs/embedding.md shows the same in vitest and jest.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startBroker, type WarrenBroker } from 'warren'
import { rpcClient, serveRpc, type RpcClient } from './rpc.js'

let broker: WarrenBroker
let client: RpcClient

before(async () => {
  broker = await startBroker({ port: 0, logLevel: 'silent' })
  client = await rpcClient(broker.url)
})

after(async () => {
  await client.close()
  await broker.close()
})

test('a call gets the handler’s result', async () => {
  const server = await serveRpc(broker.url, 'rpc.upper', (request) => String(request).toUpperCase())
  try {
    assert.equal(await client.call('rpc.upper', 'hello'), 'HELLO')
  } finally {
    await server.close()
  }
})

test('concurrent calls each get their own reply, whatever order the handler finishes in', async () => {
  const server = await serveRpc(broker.url, 'rpc.square', async (request) => {
    const n = request as number
    // the later calls finish first
    await new Promise((resolve) => setTimeout(resolve, (20 - n) * 2))
    return n * n
  })
  try {
    const numbers = Array.from({ length: 20 }, (_, i) => i)
    const results = await Promise.all(numbers.map((n) => client.call('rpc.square', n)))
    assert.deepEqual(
      results,
      numbers.map((n) => n * n),
    )
  } finally {
    await server.close()
  }
})

test('a handler’s error comes back as the call’s rejection', async () => {
  const server = await serveRpc(broker.url, 'rpc.fails', () => {
    throw new Error('no such order')
  })
  try {
    await assert.rejects(client.call('rpc.fails', { order: 7 }), /no such order/)
  } finally {
    await server.close()
  }
})

test('a call made while no server runs is answered by the next server to start', async () => {
  // the first server declares the durable queue, then goes away
  await (await serveRpc(broker.url, 'rpc.later', () => 'unused')).close()
  const answer = client.call('rpc.later', 'waiting')
  const server = await serveRpc(broker.url, 'rpc.later', (request) => `answered ${String(request)}`)
  try {
    assert.equal(await answer, 'answered waiting')
  } finally {
    await server.close()
  }
})

test('a request whose server closes before answering is handled by another server', async () => {
  let started!: () => void
  const handling = new Promise<void>((resolve) => (started = resolve))
  const stuck = await serveRpc(broker.url, 'rpc.handover', () => {
    started()
    return new Promise(() => {}) // never answers
  })
  const answer = client.call('rpc.handover', 'job')
  await handling
  await stuck.close()
  const server = await serveRpc(broker.url, 'rpc.handover', (request) => `done ${String(request)}`)
  try {
    assert.equal(await answer, 'done job')
  } finally {
    await server.close()
  }
})
