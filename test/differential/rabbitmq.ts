// Starts a private RabbitMQ node for the differential tests: its own node name, AMQP and distribution ports
// and data directory under a temporary folder, all set through RABBITMQ_* variables, so it never touches a
// system RabbitMQ. Debian's rabbitmq-server is installed by scripts/ensure-deps.sh --test.
//
// Run as root, /usr/sbin/rabbitmq-server would switch to the rabbitmq user (and need the folder to be
// theirs); the script it wraps, /usr/lib/rabbitmq/bin/rabbitmq-server, runs as whoever starts it.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RabbitMq {
  url: string
  host: string
  port: number
  /** where its data and logs are */
  dir: string
  /** The rabbitmq_prometheus plugin's HTTP port, when that plugin is enabled (`plugins`) */
  prometheusPort?: number
  /** The rabbitmq_management plugin's HTTP port, when that plugin is enabled (`plugins`) */
  managementPort?: number
  /** rabbitmqctl against this node (its node name and cookie): rejects with the output if it fails */
  ctl(...args: string[]): Promise<string>
  stop(): Promise<void>
}

export interface RabbitMqOptions {
  /** A definitions file's content (users, vhosts, permissions...) loaded at boot (`load_definitions`) */
  definitions?: object
  /**
   * Enables rabbitmq_management (as `plugins` would), with statistics collected every `statsIntervalMs`
   * (RabbitMQ's default is 5000)
   */
  management?: boolean
  statsIntervalMs?: number
  timeoutMs?: number
  /**
   * Plugins enabled at boot, offline (the enabled_plugins file: Debian's package ships them all), e.g.
   * `['rabbitmq_prometheus']`. rabbitmq_prometheus and rabbitmq_management listen on free ports of 127.0.0.1,
   * returned as `prometheusPort` and `managementPort`; the node is ready once those accept connections too.
   */
  plugins?: string[]
}

/** The plugins with an HTTP listener of their own: their rabbitmq.conf prefix */
const PLUGIN_LISTENERS = { rabbitmq_prometheus: 'prometheus', rabbitmq_management: 'management' } as const

const SCRIPTS = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/sbin/rabbitmq-server']
const CTL = '/usr/lib/rabbitmq/bin/rabbitmqctl'

/** A port free on 127.0.0.1 now (the OS picks it) */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

/** Whether 127.0.0.1:port accepts a TCP connection */
export async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Starts RabbitMQ and resolves once its AMQP port accepts connections (about 7 s here). */
export async function startRabbitMq({
  definitions,
  management = false,
  statsIntervalMs = 5000,
  timeoutMs = 60_000,
  plugins: requestedPlugins = [],
}: RabbitMqOptions = {}): Promise<RabbitMq> {
  const plugins =
    management && !requestedPlugins.includes('rabbitmq_management')
      ? [...requestedPlugins, 'rabbitmq_management']
      : requestedPlugins
  const script = SCRIPTS.find((path) => existsSync(path))
  if (!script) throw new Error('rabbitmq-server is not installed (bash scripts/ensure-deps.sh --test installs it)')
  const dir = await mkdtemp(join(tmpdir(), 'warren-rabbitmq-'))
  const port = await freePort()
  const distPort = await freePort()
  await writeFile(join(dir, 'enabled_plugins'), `[${plugins.join(',')}].\n`)
  // an hour: programs hold deliveries as long as they like (Warren is started with the same)
  let conf = 'consumer_timeout = 3600000\nloopback_users = none\n'
  if (plugins.includes('rabbitmq_management')) conf += `collect_statistics_interval = ${statsIntervalMs}\n`
  const httpPorts: Partial<Record<keyof typeof PLUGIN_LISTENERS, number>> = {}
  for (const plugin of plugins) {
    if (!(plugin in PLUGIN_LISTENERS)) continue
    const name = plugin as keyof typeof PLUGIN_LISTENERS
    const httpPort = (httpPorts[name] = await freePort())
    conf += `${PLUGIN_LISTENERS[name]}.tcp.port = ${httpPort}\n${PLUGIN_LISTENERS[name]}.tcp.ip = 127.0.0.1\n`
  }
  if (definitions) {
    // With load_definitions RabbitMQ makes no guest and no '/' of its own: the file must have them
    await writeFile(join(dir, 'definitions.json'), JSON.stringify(definitions))
    conf += `load_definitions = ${join(dir, 'definitions.json')}\n`
  }
  await writeFile(join(dir, 'rabbitmq.conf'), conf)
  const node = `warren-diff-${process.pid}-${port}@localhost`
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
  }
  const child: ChildProcess = spawn(script, [], { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  let exited = false
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true
      resolve()
    }),
  )
  const stop = async (): Promise<void> => {
    if (!exited && child.pid !== undefined) {
      // the whole process group: the script, beam.smp and its helpers (epmd is a daemon and stays)
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          // already gone
        }
      }, 15_000)
      await exit
      clearTimeout(killer)
    }
    await rm(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + timeoutMs
  const ports = [port, ...Object.values(httpPorts)]
  for (const p of ports) {
    while (!(await canConnect(p))) {
      if (exited || Date.now() > deadline) {
        await stop()
        throw new Error(`RabbitMQ did not start on port ${p}: ${stderr.slice(-2000)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
  const ctl = (...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      // HOME: the Erlang cookie the node wrote there
      execFile(CTL, ['-n', node, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`rabbitmqctl ${args.join(' ')}: ${err.message}\n${stdout}${stderr}`)) : resolve(stdout),
      )
    })
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}/`,
    host: '127.0.0.1',
    port,
    dir,
    prometheusPort: httpPorts.rabbitmq_prometheus,
    managementPort: httpPorts.rabbitmq_management,
    ctl,
    stop,
  }
}
