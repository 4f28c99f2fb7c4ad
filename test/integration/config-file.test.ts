// `warren --config FILE` for real: dist/src/main.js reads a rabbitmq.conf-style file, warns about a key it does
// not know, and clients see the file's settings (connection.tune, the default vhost).
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { connect } from '../helpers/amqplib.js'
import { startBrokerProcess, stopAllBrokerProcesses } from '../helpers/broker-process.js'

let dir: string | undefined
after(async () => {
  await stopAllBrokerProcesses()
  if (dir) await rm(dir, { recursive: true, force: true })
})

test('main.js --config FILE: the settings of the file reach the clients; an unknown key only warns', async () => {
  dir = await mkdtemp(join(tmpdir(), 'warren-conf-'))
  const file = join(dir, 'rabbitmq.conf')
  await writeFile(
    file,
    [
      '# an operator file carried over from RabbitMQ',
      'frame_max = 8192',
      'channel_max = 9',
      'default_vhost = /from-file',
      'collect_statistics_interval = 10000',
      '',
    ].join('\n'),
  )
  const broker = await startBrokerProcess({ args: ['--config', file] })
  assert.match(broker.stderr(), /warning: .*rabbitmq\.conf:5: unknown setting 'collect_statistics_interval' ignored/)
  // 0: no preference of the client's, so amqplib takes what the broker proposes in connection.tune
  const conn = await connect(`${broker.url}%2Ffrom-file?frameMax=0&channelMax=0`)
  try {
    const tuned = conn.connection as unknown as { frameMax: number; channelMax: number }
    assert.deepEqual([tuned.frameMax, tuned.channelMax], [8192, 9])
    const channel = await conn.createChannel()
    const { queue } = await channel.assertQueue('', { exclusive: true })
    await channel.sendToQueue(queue, Buffer.from('through the configured vhost'))
    const got = await channel.get(queue, { noAck: true })
    assert.ok(got)
    assert.equal(got.content.toString(), 'through the configured vhost')
  } finally {
    await conn.close()
  }
})
