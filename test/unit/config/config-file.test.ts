// The config file (rabbitmq.conf syntax, RabbitMQ's keys), units, precedence, --version, and the help and
// docs/configuration.md generated from the settings table.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { parseConfText } from '../../../src/config/conf-file.js'
import { DEFAULTS, parseConfig, type Config } from '../../../src/config/config.js'
import { SETTINGS, envNames } from '../../../src/config/settings.js'
import { size } from '../../../src/config/units.js'

const root = join(import.meta.dirname, '..', '..', '..', '..')
const dir = mkdtempSync(join(tmpdir(), 'warren-config-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let files = 0
function confFile(text: string, name = `warren-${++files}.conf`): string {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

function parse(argv: string[], env: NodeJS.ProcessEnv = {}, warnings: string[] = []): Config {
  const c = parseConfig(argv, env, { warn: (message) => warnings.push(message) })
  assert.ok(!('help' in c) && !('version' in c))
  return c
}

test('rabbitmq.conf syntax: key = value, # comments, the last of a repeated key wins', () => {
  const entries = parseConfText(
    '# a comment\n\nheartbeat = 30\n  frame_max=8192   # trailing comment\ndefault_pass = a#b\nheartbeat = 20\n',
    'f.conf',
  )
  assert.deepEqual(
    [...entries.values()].map((e) => [e.key, e.value, e.where]),
    [
      ['heartbeat', '20', 'f.conf:6'],
      ['frame_max', '8192', 'f.conf:4'],
      ['default_pass', 'a#b', 'f.conf:5'],
    ],
  )
  assert.throws(
    () => parseConfText('heartbeat 30\n', 'f.conf'),
    /f\.conf:1: expected 'key = value', got 'heartbeat 30'/,
  )
  assert.throws(() => parseConfText('heartbeat =\n', 'f.conf'), /f\.conf:1: 'heartbeat' has no value/)
})

test("sizes take RabbitMQ's units: kB/MB/GB are powers of 1000, k/KiB/M/MiB/G/GiB of 1024", () => {
  assert.equal(size('x', '2GB', 0, Infinity), 2_000_000_000)
  assert.equal(size('x', '512MiB', 0, Infinity), 512 * 1024 * 1024)
  assert.equal(size('x', '50MB', 0, Infinity), 50_000_000)
  assert.equal(size('x', '1G', 0, Infinity), 1024 ** 3)
  assert.equal(size('x', '64k', 0, Infinity), 65536)
  assert.equal(size('x', '1000', 0, Infinity), 1000)
  assert.throws(() => size('--disk-free-limit', '5XB', 0, Infinity), /--disk-free-limit must be a size/)
  assert.throws(() => size('x', '1.5GB', 0, Infinity), /must be a size/)
})

test("a file of RabbitMQ's keys sets the matching settings", () => {
  const file = confFile(`
listeners.tcp.default = 127.0.0.1:5680
default_user = admin
default_pass = s3cret
default_vhost = /prod
loopback_users = none
vm_memory_high_watermark.absolute = 2GB
disk_free_limit.absolute = 1GB
heartbeat = 30
frame_max = 65536
channel_max = 100
consumer_timeout = 900000
handshake_timeout = 5000
max_message_size = 16MiB
connection_max = 500
management.tcp.port = 15000
prometheus.tcp.port = none
log.console.level = warning
ssl_cert_login_from = common_name
load_definitions = /etc/warren/definitions.json
warren.data_dir = /var/lib/warren
warren.message_memory_budget = 256MiB
warren.max_output_buffer = 2MiB
`)
  const warnings: string[] = []
  const c = parse(['--config', file], {}, warnings)
  assert.deepEqual(warnings, [])
  assert.equal(c.port, 5680)
  assert.equal(c.bind, '127.0.0.1')
  assert.equal(c.tcpListener, true)
  assert.deepEqual([c.defaultUser, c.defaultPass, c.defaultVhost], ['admin', 's3cret', '/prod'])
  assert.deepEqual(c.loopbackUsers, [])
  assert.equal(c.memoryHighWatermark, 2_000_000_000)
  assert.equal(c.diskFreeLimit, 1_000_000_000)
  assert.deepEqual([c.heartbeat, c.frameMax, c.channelMax], [30, 65536, 100])
  assert.deepEqual([c.consumerTimeout, c.handshakeTimeout, c.maxMessageSize], [900_000, 5000, 16 * 1024 * 1024])
  assert.equal(c.maxConnections, 500)
  assert.equal(c.managementPort, 15000)
  assert.equal(c.prometheusPort, undefined)
  assert.equal(c.logLevel, 'warn')
  assert.equal(c.sslCertLoginFrom, 'common_name')
  assert.equal(c.definitionsFile, '/etc/warren/definitions.json')
  assert.equal(c.dataDir, '/var/lib/warren')
  assert.equal(c.messageMemoryBudget, 256 * 1024 * 1024)
  assert.equal(c.maxOutputBuffer, 2 * 1024 * 1024)
})

test('relative memory watermark: a fraction of RAM; 1 in .relative is all of it, not one byte', () => {
  const c = parse(['--config', confFile('vm_memory_high_watermark.relative = 0.6\ndisk_free_limit.relative = 1.5\n')])
  assert.equal(c.memoryHighWatermark, Math.floor(totalmem() * 0.6))
  assert.equal(c.diskFreeLimit, Math.floor(totalmem() * 1.5))
  assert.equal(parse(['--config', confFile('vm_memory_high_watermark.relative = 1\n')]).memoryHighWatermark, totalmem())
  assert.equal(parse(['--memory-high-watermark', '0.25']).memoryHighWatermark, Math.floor(totalmem() * 0.25))
  assert.equal(parse(['--memory-high-watermark', '3GiB']).memoryHighWatermark, 3 * 1024 ** 3)
  assert.equal(parse([], { WARREN_MESSAGE_MEMORY_BUDGET: '0.1' }).messageMemoryBudget, Math.floor(totalmem() * 0.1))
})

test("loopback_users: RabbitMQ's none and per-user forms", () => {
  const users = (text: string) => parse(['--config', confFile(text)]).loopbackUsers
  assert.deepEqual(users('loopback_users = none\n'), [])
  assert.deepEqual(users('loopback_users.guest = false\n'), [])
  assert.deepEqual(users('loopback_users.guest = true\nloopback_users.ops = true\n'), ['guest', 'ops'])
  assert.deepEqual(users('heartbeat = 5\n'), ['guest'])
  assert.deepEqual(parse(['--loopback-users', 'none']).loopbackUsers, [])
})

test('listeners.tcp.NAME: any one name, IPv6 forms; two listeners are refused', () => {
  const c = parse(['--config', confFile('listeners.tcp.1 = [::1]:5690\n')])
  assert.deepEqual([c.bind, c.port], ['::1', 5690])
  assert.equal(parse(['--config', confFile('listeners.tcp.default = :::5691\n')]).bind, '::')
  assert.equal(parse(['--config', confFile('listeners.tcp.local = 5692\n')]).bind, DEFAULTS.bind)
  const two = confFile('listeners.tcp.1 = 5672\nlisteners.tcp.2 = 5673\n')
  assert.throws(
    () => parse(['--config', two]),
    /:2: Warren has one tcp listener; listeners\.tcp\.1 and listeners\.tcp\.2 name two/,
  )
})

test('TLS from the file: listeners.ssl.default and ssl_options; listeners.tcp = none', () => {
  const c = parse([
    '--config',
    confFile(`listeners.tcp = none
listeners.ssl.default = 5671
ssl_options.cacertfile = /certs/ca.pem
ssl_options.certfile = /certs/server.pem
ssl_options.keyfile = /certs/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
`),
  ])
  assert.equal(c.tcpListener, false)
  assert.deepEqual(c.tls, {
    port: 5671,
    cert: '/certs/server.pem',
    key: '/certs/server.key',
    ca: '/certs/ca.pem',
    verifyPeer: true,
    failIfNoPeerCert: true,
  })
})

test('an unknown key is a warning naming file and line, not an error', () => {
  const warnings: string[] = []
  const file = confFile(
    'heartbeat = 10\nmanagement.tcp.ip = 0.0.0.0\ncluster_formation.peer_discovery_backend = classic_config\n',
  )
  const c = parse(['--config', file], {}, warnings)
  assert.equal(c.heartbeat, 10)
  assert.deepEqual(warnings, [
    `${file}:2: unknown setting 'management.tcp.ip' ignored`,
    `${file}:3: unknown setting 'cluster_formation.peer_discovery_backend' ignored`,
  ])
})

test('bad values in the file name the file, line and key', () => {
  const file = confFile('heartbeat = 10\nchannel_max = lots\n')
  assert.throws(
    () => parse(['--config', file]),
    new RegExp(`${file}:2: channel_max must be an integer from 1 to 65535`),
  )
  assert.throws(
    () => parse(['--config', join(dir, 'missing.conf')]),
    /cannot read the config file .*missing\.conf: ENOENT/,
  )
  assert.throws(() => parse([], { WARREN_HEARTBEAT: 'x' }), /WARREN_HEARTBEAT must be an integer/)
})

test('precedence: flag, then environment, then file, then default', () => {
  const file = confFile('heartbeat = 30\nchannel_max = 30\nframe_max = 30000\n')
  const env = { WARREN_HEARTBEAT: '20', WARREN_CHANNEL_MAX: '20' }
  const c = parse(['--config', file, '--heartbeat', '10'], env)
  assert.equal(c.heartbeat, 10) // flag
  assert.equal(c.channelMax, 20) // environment
  assert.equal(c.frameMax, 30000) // file
  assert.equal(c.consumerTimeout, DEFAULTS.consumerTimeout) // default
  // An empty variable counts as unset
  assert.equal(parse(['--config', file], { WARREN_HEARTBEAT: '' }).heartbeat, 30)
})

test('the file comes from --config, WARREN_CONFIG_FILE or RABBITMQ_CONFIG_FILE (.conf may be left out)', () => {
  const a = confFile('heartbeat = 11\n')
  const b = confFile('heartbeat = 12\n', 'rabbitmq.conf')
  assert.equal(parse([], { WARREN_CONFIG_FILE: a }).heartbeat, 11)
  assert.equal(parse([], { RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq') }).heartbeat, 12)
  assert.equal(parse(['--config', b], { WARREN_CONFIG_FILE: a }).heartbeat, 12)
  assert.equal(parse([], { WARREN_CONFIG_FILE: a, RABBITMQ_CONFIG_FILE: b }).heartbeat, 11)
})

test('default user: from the file like from the environment, and still refused without a password', () => {
  const c = parse(['--config', confFile('default_user = admin\n')], { RABBITMQ_DEFAULT_PASS: 'pw' })
  assert.deepEqual([c.defaultUser, c.defaultPass], ['admin', 'pw'])
  assert.throws(() => parse(['--config', confFile('default_user = admin\n')]), /default user 'admin' has no password/)
  assert.throws(() => parseConfig(['--default-pass', 'x'], {}), /Unknown option '--default-pass'/)
})

test('management and Prometheus ports: RabbitMQ defaults, a port, or none', () => {
  assert.deepEqual([DEFAULTS.managementPort, DEFAULTS.prometheusPort], [15672, 15692])
  const d = parse([])
  assert.deepEqual([d.managementPort, d.prometheusPort], [15672, 15692])
  const c = parse(['--management-port', 'none', '--prometheus-port', '9419'])
  assert.deepEqual([c.managementPort, c.prometheusPort], [undefined, 9419])
  assert.equal(parse([], { WARREN_MANAGEMENT_PORT: '0' }).managementPort, 0)
  assert.throws(() => parse(['--prometheus-port', '70000']), /--prometheus-port must be an integer from 0 to 65535/)
})

test("log level: pino's names and RabbitMQ's", () => {
  assert.equal(parse(['--log-level', 'debug']).logLevel, 'debug')
  assert.equal(parse(['--log-level', 'none']).logLevel, 'silent')
  assert.equal(parse(['--log-level', 'critical']).logLevel, 'fatal')
  assert.throws(() => parse(['--log-level', 'loud']), /--log-level must be one of/)
})

test("log format: json by default, text, RabbitMQ's log.console.formatter = plaintext", () => {
  assert.equal(parse([]).logFormat, 'json')
  assert.equal(parse(['--log-format', 'text']).logFormat, 'text')
  assert.equal(parse([], { WARREN_LOG_FORMAT: 'text' }).logFormat, 'text')
  const warnings: string[] = []
  assert.equal(parse(['--config', confFile('log.console.formatter = plaintext\n')], {}, warnings).logFormat, 'text')
  assert.equal(parse(['--config', confFile('log.console.formatter = json\n')], {}, warnings).logFormat, 'json')
  assert.deepEqual(warnings, [])
  assert.throws(() => parse(['--log-format', 'xml']), /--log-format must be json or text \(or plaintext\), got 'xml'/)
})

test('--version is package.json version', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  assert.deepEqual(parseConfig(['--version'], {}), { version: pkg.version })
  const run = spawnSync(process.execPath, [join(root, 'dist', 'src', 'main.js'), '--version'], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout.trim(), pkg.version)
})

test('--help lists every setting of the table with its environment variables and file keys', () => {
  const c = parseConfig(['--help'], {})
  assert.ok('help' in c)
  for (const setting of SETTINGS) {
    if (!setting.noFlag) assert.ok(c.help.includes(`--${setting.flag}`), setting.flag)
    for (const name of envNames(setting)) assert.ok(c.help.includes(name), name)
    for (const key of setting.keys) assert.ok(c.help.includes(key), key)
  }
})

test('docs/configuration.md is what the table generates, and the check catches drift', () => {
  const script = join(root, 'scripts', 'gen-config-docs.mjs')
  const docs = join(root, 'docs', 'configuration.md')
  const ok = spawnSync(process.execPath, [script, '--check'], { cwd: root, encoding: 'utf8' })
  assert.equal(ok.status, 0, ok.stderr)
  const text = readFileSync(docs, 'utf8')
  for (const setting of SETTINGS) for (const name of envNames(setting)) assert.ok(text.includes(`\`${name}\``), name)
  const stale = join(dir, 'configuration.md')
  writeFileSync(stale, text.replace('`WARREN_HEARTBEAT`', '`WARREN_HEARTBEATS`'))
  const drift = spawnSync(process.execPath, [script, '--check', '--docs', stale], { cwd: root, encoding: 'utf8' })
  assert.equal(drift.status, 1)
  assert.match(drift.stderr, /is out of date with src\/config\/settings\.ts/)
})
