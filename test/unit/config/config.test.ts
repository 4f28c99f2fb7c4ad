import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DEFAULTS, parseConfig, type Config } from '../../../src/config/config.js'

function parse(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const c = parseConfig(argv, env)
  assert.ok(!('help' in c) && !('version' in c))
  return c
}

test('defaults: port 5672, data in ./data, guest/guest', () => {
  const c = parse([])
  assert.equal(c.port, 5672)
  assert.equal(c.dataDir, './data')
  assert.equal(c.defaultUser, 'guest')
  assert.equal(c.defaultPass, 'guest')
  assert.equal(c.heartbeat, 60)
  assert.equal(c.frameMax, 131072)
  assert.equal(c.channelMax, 2047)
  assert.equal(c.messageMemoryBudget, DEFAULTS.messageMemoryBudget)
})

test('flags: --port, --bind, --data-dir, --log-level, --definitions, budgets', () => {
  const c = parse([
    '--port',
    '5673',
    '--bind',
    '127.0.0.1',
    '--data-dir',
    './w',
    '--log-level',
    'debug',
    '--definitions',
    'defs.json',
    '--message-memory-budget',
    '1048576',
    '--memory-high-watermark',
    '2000000000',
  ])
  assert.equal(c.port, 5673)
  assert.equal(c.bind, '127.0.0.1')
  assert.equal(c.dataDir, './w')
  assert.equal(c.logLevel, 'debug')
  assert.equal(c.definitionsFile, 'defs.json')
  assert.equal(c.messageMemoryBudget, 1048576)
  assert.equal(c.memoryHighWatermark, 2000000000)
})

test('WARREN_DEFAULT_USER and WARREN_DEFAULT_PASS replace guest, like RABBITMQ_DEFAULT_USER', () => {
  const c = parse([], { WARREN_DEFAULT_USER: 'admin', WARREN_DEFAULT_PASS: '123456', WARREN_PORT: '5999' })
  assert.equal(c.defaultUser, 'admin')
  assert.equal(c.defaultPass, '123456')
  assert.equal(c.port, 5999)
})

test('flags win over the environment', () => {
  assert.equal(parse(['--port', '6000'], { WARREN_PORT: '5999' }).port, 6000)
})

test('bad values are refused with a clear message', () => {
  assert.throws(() => parseConfig(['--port', 'x'], {}), /--port must be an integer from 0 to 65535, got 'x'/)
  assert.throws(() => parseConfig(['--frame-max', '100'], {}), /--frame-max must be an integer from 4096/)
  assert.throws(() => parseConfig(['--nope'], {}), /Unknown option '--nope'/)
})

test('--help prints the usage', () => {
  const c = parseConfig(['--help'], {})
  assert.ok('help' in c)
  assert.match(c.help, /--data-dir DIR/)
})

test('limits: RabbitMQ defaults, and each flag sets its own', () => {
  const d = parse([])
  assert.equal(d.diskFreeLimit, 50_000_000)
  assert.equal(d.maxConnections, 0)
  assert.equal(d.handshakeTimeout, 10_000)
  assert.equal(d.consumerTimeout, 1_800_000)
  assert.equal(d.maxMessageSize, 128 * 1024 * 1024)
  assert.equal(d.maxOutputBuffer, 1024 * 1024)
  const c = parse([
    '--disk-free-limit',
    '1000',
    '--max-connections',
    '5',
    '--handshake-timeout',
    '500',
    '--consumer-timeout',
    '0',
    '--max-message-size',
    '65536',
    '--max-output-buffer',
    '8192',
  ])
  assert.deepEqual(
    [c.diskFreeLimit, c.maxConnections, c.handshakeTimeout, c.consumerTimeout, c.maxMessageSize, c.maxOutputBuffer],
    [1000, 5, 500, 0, 65536, 8192],
  )
  assert.throws(() => parse(['--max-message-size', String(513 * 1024 * 1024)]), /--max-message-size must be/)
  assert.throws(() => parse(['--consumer-timeout=-1']), /--consumer-timeout must be/)
})

test('RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS make the first user; WARREN_* wins over them', () => {
  const rabbit = parse([], { RABBITMQ_DEFAULT_USER: 'app', RABBITMQ_DEFAULT_PASS: 's3cret' })
  assert.equal(rabbit.defaultUser, 'app')
  assert.equal(rabbit.defaultPass, 's3cret')
  const both = parse([], {
    RABBITMQ_DEFAULT_USER: 'app',
    RABBITMQ_DEFAULT_PASS: 's3cret',
    WARREN_DEFAULT_USER: 'warren',
    WARREN_DEFAULT_PASS: 'w-pass',
  })
  assert.equal(both.defaultUser, 'warren')
  assert.equal(both.defaultPass, 'w-pass')
})

test('a default user without a password is an error, not a user with the password guest', () => {
  for (const env of [{ WARREN_DEFAULT_USER: 'admin' }, { RABBITMQ_DEFAULT_USER: 'admin' }]) {
    assert.throws(() => parseConfig([], env), /default user 'admin' has no password: set WARREN_DEFAULT_PASS/)
  }
  // A password alone changes guest's password
  const c = parse([], { RABBITMQ_DEFAULT_PASS: 'only-pass' })
  assert.equal(c.defaultUser, 'guest')
  assert.equal(c.defaultPass, 'only-pass')
})

test('TLS: --tls-* flags and WARREN_TLS_* variables; off by default', () => {
  const d = parse([])
  assert.equal(d.tls, undefined)
  assert.equal(d.tcpListener, true)
  assert.equal(d.sslCertLoginFrom, 'distinguished_name')
  const c = parse(
    [
      '--tls-port',
      '5671',
      '--tls-cert',
      'c.pem',
      '--tls-key',
      'k.pem',
      '--tls-verify-peer',
      '--tls-fail-if-no-peer-cert',
    ],
    { WARREN_TLS_CA: 'ca.pem' },
  )
  assert.deepEqual(c.tls, {
    port: 5671,
    cert: 'c.pem',
    key: 'k.pem',
    ca: 'ca.pem',
    verifyPeer: true,
    failIfNoPeerCert: true,
  })
  const e = parse([], {
    WARREN_TLS_PORT: '5675',
    WARREN_TLS_CERT: 'c.pem',
    WARREN_TLS_KEY: 'k.pem',
    WARREN_TLS_VERIFY_PEER: 'true',
  })
  assert.deepEqual(e.tls, { port: 5675, cert: 'c.pem', key: 'k.pem', verifyPeer: true, failIfNoPeerCert: false })
  assert.equal(parse(['--ssl-cert-login-from', 'common_name']).sslCertLoginFrom, 'common_name')
})

test('TLS: incomplete settings are refused with a clear message', () => {
  assert.throws(() => parseConfig(['--tls-port', '5671'], {}), /--tls-port needs --tls-cert and --tls-key/)
  assert.throws(() => parseConfig(['--tls-cert', 'c.pem'], {}), /the --tls-\* options need --tls-port/)
  assert.throws(
    () => parseConfig(['--tls-port', '1', '--tls-cert', 'c', '--tls-key', 'k', '--tls-fail-if-no-peer-cert'], {}),
    /--tls-fail-if-no-peer-cert needs --tls-verify-peer/,
  )
  assert.throws(() => parseConfig(['--ssl-cert-login-from', 'cn'], {}), /distinguished_name or common_name/)
})

test('--port none turns the plain listener off, with a TLS listener only', () => {
  const c = parse(['--port', 'none', '--tls-port', '5671', '--tls-cert', 'c', '--tls-key', 'k'])
  assert.equal(c.tcpListener, false)
  assert.equal(c.tls?.port, 5671)
  assert.equal(
    parse([], { WARREN_PORT: 'none', WARREN_TLS_PORT: '1', WARREN_TLS_CERT: 'c', WARREN_TLS_KEY: 'k' }).tcpListener,
    false,
  )
  assert.throws(() => parseConfig(['--port', 'none'], {}), /--port none turns off the only listener/)
})

test("loopback users: guest by default (RabbitMQ's loopback_users), a list, or none", () => {
  assert.deepEqual(parse([]).loopbackUsers, ['guest'])
  assert.deepEqual(parse(['--loopback-users', 'guest, ops']).loopbackUsers, ['guest', 'ops'])
  assert.deepEqual(parse(['--loopback-users', '']).loopbackUsers, [])
  assert.deepEqual(parse([], { WARREN_LOOPBACK_USERS: 'a,b' }).loopbackUsers, ['a', 'b'])
  assert.deepEqual(parse(['--loopback-users', 'x'], { WARREN_LOOPBACK_USERS: 'a' }).loopbackUsers, ['x'])
})
