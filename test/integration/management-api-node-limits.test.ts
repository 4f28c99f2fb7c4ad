// /api/nodes' sockets_used/sockets_total: the AMQP connections, and the limit they meet first: the broker's
// max-connections when one is set (the listener refuses past it), else the file descriptors' limit.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import amqp from 'amqplib'
import type { StartOptions } from '../helpers/broker.js'
import { startBrokerWithApi } from '../helpers/management-http.js'

async function nodeWith(options: StartOptions, connections: number): Promise<Record<string, unknown>> {
  const { broker, api, base } = await startBrokerWithApi(options)
  const open: amqp.ChannelModel[] = []
  try {
    for (let i = 0; i < connections; i++) open.push(await amqp.connect(broker.url))
    const res = await fetch(`${base}/api/nodes`, {
      headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') },
    })
    assert.equal(res.status, 200)
    return ((await res.json()) as Record<string, unknown>[])[0]!
  } finally {
    for (const c of open) await c.close()
    await api.close()
    await broker.stop()
  }
}

describe('management API: the node’s sockets (Linux: limits from /proc)', () => {
  test('with max-connections set, sockets_total is that limit', async () => {
    const node = await nodeWith({ maxConnections: 7 }, 2)
    assert.equal(node['sockets_used'], 2)
    assert.equal(node['sockets_total'], 7)
    assert.notEqual(node['fd_total'], 7)
  })

  test('without one, sockets_total is the file descriptors’ limit', async () => {
    const node = await nodeWith({}, 1)
    assert.equal(node['sockets_used'], 1)
    assert.equal(typeof node['fd_total'], 'number')
    assert.equal(node['sockets_total'], node['fd_total'])
  })
})
