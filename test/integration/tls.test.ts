// AMQP over TLS (issue 10): the amqps listener with certificates made by openssl for the test (a CA, a server
// certificate for 127.0.0.1/localhost, client certificates, and one from another CA), amqplib and pika round
// trips, the EXTERNAL mechanism with a client certificate, peer verification, TLS 1.1 refused, and the plain
// listener turned off.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import amqp, { type ChannelModel } from 'amqplib'
import { startBroker as startLibraryBroker } from '../../src/index.js'
import { certificateName } from '../../src/server/sasl.js'
import { startManagementServer } from '../../src/management/api/server.js'
import { suiteNames } from '../../src/management/api/statistics.js'
import { apiClient, type Body } from '../helpers/management-http.js'
import { FULL_ACCESS } from '../../src/broker/tenancy.js'
import { startBroker, stopAllBrokers, type InProcessBroker } from '../helpers/broker.js'
import { connect, replyText, withTimeout } from '../helpers/amqplib.js'
import { runPython } from '../helpers/python.js'
import { AMQP_0_9_1_HEADER, RawClient } from '../helpers/raw-client.js'

const T = { timeout: 30_000 }
const dir = mkdtempSync(join(tmpdir(), 'warren-tls-'))
const file = (name: string) => join(dir, name)
const read = (name: string) => readFileSync(file(name))

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

/** A self-signed CA (ECDSA P-256: quick to make). */
function makeCa(name: string, cn: string): void {
  openssl(
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.pem`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ) // prettier-ignore
}

/** A certificate signed by `ca`, with the subject and extensions given. */
function makeCert(name: string, ca: string, subject: string, extensions: string): void {
  writeFileSync(file(`${name}.ext`), extensions)
  openssl(
    'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-subj', subject, '-keyout', `${name}.key`, '-out', `${name}.csr`,
  ) // prettier-ignore
  openssl(
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`,
  ) // prettier-ignore
}

/** The subject DN of alice's certificate as RabbitMQ names the user (ssl_cert_login_from = distinguished_name) */
const ALICE_DN = 'CN=alice,O=Warren Tests'

let verifying: InProcessBroker
let tlsOnly: InProcessBroker
/** The port tlsOnly would listen on for plain AMQP, were its plain listener not turned off */
let plainPort: number

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

before(async () => {
  try {
    openssl('version')
  } catch {
    throw new Error('these tests need the openssl command')
  }
  makeCa('ca', 'Warren Test CA')
  makeCa('other-ca', 'Some Other CA')
  makeCert('server', 'ca', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  const client = 'extendedKeyUsage=clientAuth\n'
  makeCert('alice', 'ca', '/O=Warren Tests/CN=alice', client)
  makeCert('bob', 'ca', '/O=Warren Tests/CN=bob', client)
  makeCert('carol', 'ca', '/C=GB/O=Acme, Inc./CN=carol, jr', client)
  makeCert('mallory', 'other-ca', '/O=Warren Tests/CN=alice', client)
  const tlsSettings = { cert: file('server.pem'), key: file('server.key'), ca: file('ca.pem') }
  verifying = await startBroker({ inProcess: true, tls: { port: 0, ...tlsSettings, verifyPeer: true } })
  verifying.broker.putUser(ALICE_DN, { password: 'not-used-by-external' })
  verifying.broker.setPermission(ALICE_DN, '/', FULL_ACCESS)
  plainPort = await freePort()
  tlsOnly = await startBroker({
    inProcess: true,
    port: plainPort,
    tcpListener: false,
    // PEM given as Buffers and text rather than paths
    tls: {
      port: 0,
      cert: read('server.pem'),
      key: read('server.key').toString(),
      ca: read('ca.pem'),
      verifyPeer: true,
      failIfNoPeerCert: true,
    },
    sslCertLoginFrom: 'common_name',
  })
  tlsOnly.broker.putUser('alice', { password: 'not-used-by-external' })
  tlsOnly.broker.setPermission('alice', '/', FULL_ACCESS)
})

after(async () => {
  await stopAllBrokers()
  rmSync(dir, { recursive: true, force: true })
})

function amqpsUrl(broker: InProcessBroker, credentials = 'guest:guest'): string {
  return `amqps://${credentials}@localhost:${broker.tlsPort}/`
}

function clientCert(name: string | undefined): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = { ca: read('ca.pem') }
  if (name !== undefined) Object.assign(options, { cert: read(`${name}.pem`), key: read(`${name}.key`) })
  return options
}

async function publishAndGet(conn: ChannelModel, body: string): Promise<string | undefined> {
  const ch = await conn.createChannel()
  const { queue } = await ch.assertQueue('', { exclusive: true })
  ch.sendToQueue(queue, Buffer.from(body))
  let got: false | amqp.GetMessage = false
  // A get may overtake the publish on the wire's other side only if the broker reorders; it does not
  for (let i = 0; i < 50 && got === false; i++) got = await ch.get(queue, { noAck: true })
  await ch.close()
  return got === false ? undefined : got.content.toString()
}

/** The mechanisms the server offers in connection.start over a TLS connection made with `options`. */
async function offeredMechanisms(port: number, options: tls.ConnectionOptions): Promise<string> {
  const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ...options })
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve)
    socket.once('error', reject)
  })
  const client = RawClient.over(socket)
  client.write(AMQP_0_9_1_HEADER)
  const start = await client.nextMethod()
  client.destroy()
  assert.equal(start.name, 'connection.start')
  return start.mechanisms.toString()
}

/** How a TLS client's connection ends: 'open' if it got through the TLS handshake and AMQP's, else the error */
async function amqpsConnect(url: string, options: tls.ConnectionOptions, external = false): Promise<string> {
  try {
    const conn = await withTimeout(
      connect(url, { ...options, ...(external ? { credentials: amqp.credentials.external() } : {}) }),
      10_000,
      'amqps connect',
    )
    await conn.close()
    return 'open'
  } catch (err) {
    return replyText(err) ?? (err instanceof Error ? err.message : String(err))
  }
}

describe('TLS listener', () => {
  test('amqplib publishes and gets over amqps (server certificate verified against the CA)', T, async () => {
    const conn = await connect(amqpsUrl(verifying), clientCert(undefined))
    try {
      assert.equal(await publishAndGet(conn, 'over TLS'), 'over TLS')
    } finally {
      await conn.close()
    }
    // The plain listener runs beside it, feeding the same broker
    const plain = await connect(verifying.url)
    await plain.close()
  })

  test('pika publishes and gets over TLS (pika.SSLOptions)', T, async () => {
    const script = file('pika_tls.py')
    writeFileSync(
      script,
      [
        'import json, ssl, sys, pika',
        'port, cafile = int(sys.argv[1]), sys.argv[2]',
        'context = ssl.create_default_context(cafile=cafile)',
        'params = pika.ConnectionParameters(host="127.0.0.1", port=port,',
        '    credentials=pika.PlainCredentials("guest", "guest"),',
        '    ssl_options=pika.SSLOptions(context, "localhost"))',
        'conn = pika.BlockingConnection(params)',
        'ch = conn.channel()',
        'q = ch.queue_declare("", exclusive=True).method.queue',
        'ch.basic_publish("", q, b"pika over TLS")',
        'body = None',
        'for _ in range(50):',
        '    method, props, body = ch.basic_get(q, auto_ack=True)',
        '    if method: break',
        'print(json.dumps({"body": body.decode() if body else None, "tls": conn._impl.params.ssl_options is not None}))',
        'conn.close()',
      ].join('\n'),
    )
    const result = await runPython(script, [String(verifying.tlsPort), file('ca.pem')])
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(JSON.parse(result.stdout), { body: 'pika over TLS', tls: true })
  })

  test('TLS 1.1 is refused (TLS 1.2 and 1.3 only)', T, async () => {
    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal is the server's protocol_version alert
    const error = await new Promise<Error>((resolve, reject) => {
      const socket = tls.connect({
        port: verifying.tlsPort!,
        host: '127.0.0.1',
        ca: read('ca.pem'),
        servername: 'localhost',
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      })
      socket.once('secureConnect', () => reject(new Error('a TLS 1.1 handshake succeeded')))
      socket.once('error', resolve)
    })
    assert.match(error.message, /alert protocol version/)
    // The listener is unharmed
    const conn = await connect(amqpsUrl(verifying), clientCert(undefined))
    await conn.close()
  })

  test('a client that is not speaking TLS to the TLS port does not harm the listener', T, async () => {
    const client = await RawClient.connect(verifying.tlsPort!, '127.0.0.1', false)
    client.write(AMQP_0_9_1_HEADER)
    assert.equal(await client.waitSocketClosed(), true)
    const conn = await connect(amqpsUrl(verifying), clientCert(undefined))
    await conn.close()
  })

  test('a client that never starts the TLS handshake is cut at the handshake timeout', T, async () => {
    const quick = await startBroker({
      inProcess: true,
      handshakeTimeout: 200,
      tls: { port: 0, cert: file('server.pem'), key: file('server.key') },
    })
    const client = await RawClient.connect(quick.tlsPort!, '127.0.0.1', false)
    assert.equal(await client.waitSocketClosed(10_000), true)
    await quick.stop()
  })

  test(
    'the library: startBroker({ tls }) gives the amqps URL and port; with tcpListener false only TLS',
    T,
    async () => {
      const broker = await startLibraryBroker({
        port: 0,
        host: '127.0.0.1',
        logLevel: 'silent',
        tcpListener: false,
        tls: { port: 0, cert: read('server.pem'), key: read('server.key') },
      })
      try {
        assert.equal(broker.tlsUrl, `amqps://guest:guest@127.0.0.1:${broker.tlsPort}/`)
        assert.equal(broker.url, broker.tlsUrl)
        assert.equal(broker.port, broker.tlsPort)
        const conn = await connect(broker.url.replace('127.0.0.1', 'localhost'), clientCert(undefined))
        assert.equal(await publishAndGet(conn, 'library over TLS'), 'library over TLS')
        await conn.close()
      } finally {
        await broker.close()
      }
    },
  )

  test('the plain listener turned off: its port refuses connections, the TLS one serves', T, async () => {
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(plainPort, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve('connected')
      })
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    })
    assert.equal(refused, 'ECONNREFUSED')
    assert.equal(tlsOnly.port, tlsOnly.tlsPort)
    assert.equal(await amqpsConnect(amqpsUrl(tlsOnly), clientCert('alice')), 'open')
  })
})

describe('EXTERNAL: login with a client certificate', () => {
  test(
    'offered on a TLS connection, with or without a client certificate (as rabbit_auth_mechanism_ssl)',
    T,
    async () => {
      assert.equal(await offeredMechanisms(verifying.tlsPort!, clientCert('alice')), 'PLAIN AMQPLAIN EXTERNAL')
      assert.equal(await offeredMechanisms(verifying.tlsPort!, clientCert(undefined)), 'PLAIN AMQPLAIN EXTERNAL')
      // Not on a plain connection
      const plain = await RawClient.connect(verifying.port)
      plain.write(AMQP_0_9_1_HEADER)
      const start = await plain.nextMethod()
      plain.destroy()
      assert.ok(start.name === 'connection.start')
      assert.equal(start.mechanisms.toString(), 'PLAIN AMQPLAIN')
    },
  )

  test('the certificate names the user (its subject DN by default) and no password is asked', T, async () => {
    const url = `amqps://localhost:${verifying.tlsPort}/`
    const conn = await connect(url, { ...clientCert('alice'), credentials: amqp.credentials.external() })
    try {
      assert.equal(await publishAndGet(conn, 'as alice'), 'as alice')
      const [connection] = [...verifying.connections].filter((c) => c.user.name === ALICE_DN)
      assert.ok(connection, `a connection of user '${ALICE_DN}'`)
    } finally {
      await conn.close()
    }
  })

  test("the management API shows a TLS connection's session, peer certificate and mechanism", T, async () => {
    const api = await startManagementServer(verifying.broker, () => verifying.connections, {
      port: 0,
      host: '127.0.0.1',
    })
    const url = `amqps://localhost:${verifying.tlsPort}/`
    const conn = await connect(url, { ...clientCert('alice'), credentials: amqp.credentials.external() })
    try {
      const call = apiClient(() => `http://127.0.0.1:${api.port}`)
      const listed = ((await call('GET', '/api/connections')).json as Body[]).find((c) => c.user === ALICE_DN)
      assert.ok(listed, `a connection of user '${ALICE_DN}'`)
      const c = (await call('GET', `/api/connections/${encodeURIComponent(listed.name)}`)).json
      assert.equal(c.ssl, true)
      assert.equal(c.auth_mechanism, 'EXTERNAL')
      assert.equal(c.ssl_protocol, 'tlsv1.3')
      // Erlang's names of a TLS 1.3 suite: no separate key exchange, an AEAD cipher
      assert.equal(c.ssl_key_exchange, 'any')
      assert.match(c.ssl_cipher, /^(aes_(128|256)_gcm|chacha20_poly1305)$/)
      assert.equal(c.ssl_hash, 'aead')
      assert.equal(c.peer_cert_subject, ALICE_DN)
      assert.equal(c.peer_cert_issuer, 'CN=Warren Test CA')
      const cert = new X509Certificate(read('alice.pem'))
      const at = (d: string) => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z')
      assert.equal(c.peer_cert_validity, `${at(cert.validFrom)} - ${at(cert.validTo)}`)
    } finally {
      await conn.close()
      await api.close()
    }
  })

  test("TLS 1.2 suites in Erlang's terms: key exchange, cipher, hash", () => {
    assert.deepEqual(suiteNames('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'), {
      key_exchange: 'ecdhe_rsa',
      cipher: 'aes_256_gcm',
      hash: 'aead',
    })
    assert.deepEqual(suiteNames('TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'), {
      key_exchange: 'ecdhe_ecdsa',
      cipher: 'aes_128_cbc',
      hash: 'sha256',
    })
    assert.deepEqual(suiteNames('TLS_CHACHA20_POLY1305_SHA256'), {
      key_exchange: 'any',
      cipher: 'chacha20_poly1305',
      hash: 'aead',
    })
  })

  test("the user name as RabbitMQ's rabbit_cert_info writes the subject: most specific first, RFC 4514 escapes", () => {
    const carol = new X509Certificate(read('carol.pem'))
    assert.equal(certificateName(carol, 'distinguished_name'), 'CN=carol\\, jr,O=Acme\\, Inc.,C=GB')
    assert.equal(certificateName(carol, 'common_name'), 'carol, jr')
  })

  test('with ssl_cert_login_from = common_name the CN is the user name', T, async () => {
    const url = `amqps://localhost:${tlsOnly.tlsPort}/`
    assert.equal(await amqpsConnect(url, clientCert('alice'), true), 'open')
  })

  test('a certificate naming no existing user is refused with 403, as RabbitMQ', T, async () => {
    const url = `amqps://localhost:${verifying.tlsPort}/`
    assert.equal(
      await amqpsConnect(url, clientCert('bob'), true),
      'ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. For details see the broker logfile.',
    )
  })

  test('without a client certificate EXTERNAL is refused with 403', T, async () => {
    const url = `amqps://localhost:${verifying.tlsPort}/`
    assert.equal(
      await amqpsConnect(url, clientCert(undefined), true),
      'ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. For details see the broker logfile.',
    )
  })

  test('a client certificate from another CA fails the TLS handshake (verify_peer)', T, async () => {
    const url = `amqps://localhost:${verifying.tlsPort}/`
    const outcome = await amqpsConnect(url, clientCert('mallory'), true)
    assert.notEqual(outcome, 'open')
    assert.doesNotMatch(outcome, /ACCESS_REFUSED/)
  })

  test('verify_peer with fail_if_no_peer_cert refuses a client without a certificate', T, async () => {
    const outcome = await amqpsConnect(amqpsUrl(tlsOnly), clientCert(undefined))
    assert.notEqual(outcome, 'open')
    assert.match(outcome, /certificate required|socket hang up|ECONNRESET|closed/i)
  })
})
