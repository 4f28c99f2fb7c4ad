// The package as a user gets it (issue 9): `npm pack` (whose prepack compiles src/ alone), the tarball
// installed into an empty project, then the project imports 'warren' - in JavaScript, and in TypeScript
// against the shipped declarations - and runs the `warren` command through npx. The pack runs in a copy of
// the sources, so that prepack's fresh dist/src does not pull the rug from under the other test files.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type AddressInfo } from 'node:net'
import { promisify } from 'node:util'
import { connect, eventually } from '../helpers/amqplib.js'
import { spawnProcess } from '../helpers/spawn-wait.js'

const run = promisify(execFile)
const repo = join(import.meta.dirname, '..', '..', '..')
const T = { timeout: 180_000 }

// The npm_* variables `npm test` sets describe this repository's run; the project's npm must not inherit them
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
)
const npm = (cwd: string, ...args: string[]) => run('npm', args, { cwd, env, maxBuffer: 16 << 20 })

let work: string
let app: string
let tarball: string

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'warren-package-'))
  const sources = join(work, 'warren')
  await mkdir(sources)
  for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md']) {
    await cp(join(repo, path), join(sources, path))
  }
  await cp(join(repo, 'src'), join(sources, 'src'), { recursive: true })
  await cp(join(repo, 'ui'), join(sources, 'ui'), { recursive: true })
  await cp(join(repo, 'scripts', 'build.sh'), join(sources, 'scripts', 'build.sh'))
  await symlink(join(repo, 'node_modules'), join(sources, 'node_modules'), 'dir')
  await npm(sources, 'pack', '--silent', '--pack-destination', work)
  const packed = (await readdir(work)).filter((name) => name.endsWith('.tgz'))
  assert.equal(packed.length, 1, `one tarball: ${packed.join(', ')}`)
  tarball = join(work, packed[0]!)

  app = join(work, 'app')
  await mkdir(app)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
  // pino, the one runtime dependency, comes from npm's cache when it has it
  await npm(app, 'install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error')
}, T)

after(() => (work ? rm(work, { recursive: true, force: true }) : undefined))

test('the tarball holds the compiled broker and its types, no tests or benchmarks', async () => {
  const { stdout } = await run('tar', ['-tzf', tarball])
  const files = stdout.split('\n').filter(Boolean)
  for (const file of ['package/package.json', 'package/dist/src/index.js', 'package/dist/src/index.d.ts']) {
    assert.ok(files.includes(file), `${file} in ${tarball}`)
  }
  assert.ok(files.includes('package/dist/src/main.js'))
  // the web UI, built by prepack and served by the management listener
  assert.ok(files.includes('package/dist/ui/index.html'), 'the built web UI')
  assert.ok(
    files.some((f) => /^package\/dist\/ui\/assets\/.+\.js$/.test(f)),
    'its scripts',
  )
  assert.ok(files.includes('package/dist/src/cli/warrenctl.js'))
  assert.deepEqual(
    files.filter((f) => /^package\/(dist\/)?(test|bench|tools|examples)\//.test(f)),
    [],
  )
  // Runtime dependencies: pino and what pino needs, nothing of the development tools
  const installed = await readdir(join(app, 'node_modules'))
  for (const dev of ['amqplib', 'typescript', 'eslint', 'fast-check', '@types']) {
    assert.ok(!installed.includes(dev), `${dev} installed with warren`)
  }
  assert.ok(installed.includes('pino'))
})

test("a script imports 'warren', starts a broker on port 0 and a client publishes and gets", T, async () => {
  await writeFile(
    join(app, 'start.mjs'),
    `import { startBroker } from 'warren'
const broker = await startBroker({ port: 0, host: '127.0.0.1', logLevel: 'silent' })
console.log('URL ' + broker.url)
process.on('SIGTERM', () => broker.close().then(() => process.exit(0)))
`,
  )
  const child = spawnProcess(process.execPath, ['start.mjs'], { cwd: app })
  try {
    const url = (await child.waitForLine(/^URL /)).slice('URL '.length)
    assert.match(url, /^amqp:\/\/guest:guest@127\.0\.0\.1:\d+\/$/)
    const conn = await connect(url)
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue('from-the-package', { durable: true })
    ch.sendToQueue('from-the-package', Buffer.from('round trip'), { persistent: true })
    await ch.waitForConfirms()
    const got = await ch.get('from-the-package', { noAck: true })
    assert.equal(got === false ? undefined : got.content.toString(), 'round trip')
    await conn.close()
    child.child.kill('SIGTERM')
    assert.equal((await child.exited()).code, 0)
  } finally {
    child.kill()
  }
})

test('the shipped declarations type-check an application, and catch a wrong option', T, async () => {
  await writeFile(
    join(app, 'typed.ts'),
    `import { startBroker, type BrokerOptions, type WarrenBroker } from 'warren'
const options: BrokerOptions = { port: 0, logLevel: 'silent', users: [{ name: 'app', password: 'pw' }] }
const broker: WarrenBroker = await startBroker(options)
const url: string = broker.url
const port: number = broker.port
console.log(url, port)
// @ts-expect-error port is a number
await startBroker({ port: '5672' })
await broker.close()
`,
  )
  const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
  // Node's types from this repository: an application has its own @types/node
  const args = ['--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--types', 'node']
  args.push('--typeRoots', join(repo, 'node_modules', '@types'), 'typed.ts')
  const result = await run(process.execPath, [tsc, ...args], { cwd: app }).catch((err: { stdout: string }) => err)
  assert.equal(result.stdout, '', 'tsc found errors')
})

test('npx warren starts the broker, prints its listening line and serves the web UI', T, async () => {
  // Detached, to stop npx and the broker it started together (a process group)
  const child = spawn(
    'npx',
    [
      'warren',
      '--port',
      '0',
      '--bind',
      '127.0.0.1',
      '--log-level',
      'info',
      '--prometheus-port',
      'none',
      '--management-port',
      '0',
    ],
    {
      cwd: app,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  try {
    const logged = (text: string) => output.split('\n').find((l) => l.includes(text))
    const [line, managementLine] = await new Promise<[string, string]>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString()
        const [listening, management] = [logged('Warren is listening'), logged('management API listening')]
        if (listening && management) resolve([listening, management])
      })
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
      child.on('exit', (code) => reject(new Error(`npx warren exited (${code}): ${output}`)))
    })
    const { port } = JSON.parse(line) as { port: number }
    const conn = await connect(`amqp://guest:guest@127.0.0.1:${port}/`, {
      clientProperties: { connection_name: 'package smoke' },
    })
    await conn.close()
    // The log names a connection by the client's own name when it gave one
    await eventually(
      () => logged('connection opened')?.includes('"connectionName":"package smoke"') === true,
      () => `a "connection opened" line with the client's name in: ${output}`,
    )
    // the UI that prepack built, served from the installed package
    const management = (JSON.parse(managementLine) as { port: number }).port
    const page = await fetch(`http://127.0.0.1:${management}/`)
    assert.equal(page.status, 200)
    const html = await page.text()
    assert.match(html, /<title>Warren<\/title>/)
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)
    assert.ok(script, html)
    assert.equal((await fetch(`http://127.0.0.1:${management}/${script[1]}`)).status, 200)
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    process.kill(-child.pid!, 'SIGTERM')
    await exited
  }
})

test('npx warrenctl runs the installed CLI: --version, and a clear error for an API that is not there', T, async () => {
  const version = await run('npx', ['warrenctl', '--version'], { cwd: app, env })
  assert.equal(version.stdout, '0.1.0\n')
  // A loopback port nothing listens on (one just freed); warrenctl says so with rabbitmqctl's EX_UNAVAILABLE
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
  const refused = await run('npx', ['warrenctl', '--url', `http://127.0.0.1:${port}`, 'list_queues'], {
    cwd: app,
    env,
  }).catch((err: { code: number; stderr: string }) => err)
  assert.equal((refused as { code: number }).code, 69)
  assert.match(
    (refused as { stderr: string }).stderr,
    /^warrenctl: cannot reach the management API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/,
  )
})
