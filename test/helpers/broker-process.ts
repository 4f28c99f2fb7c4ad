// Runs Warren as a separate process (`node dist/src/main.js`), so that a test can stop it for real: SIGTERM
// for a clean shutdown, SIGKILL for a crash, and start it again on the same data directory.
//
// No broker outlives the test process: every child is killed when the test file calls
// stopAllBrokerProcesses() (from an after() hook), when the test process exits, and — even if the test process
// is itself killed with SIGKILL — by the child, which watches its stdin pipe and exits when the pipe closes.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'

export interface BrokerExit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** One JSON log line of the broker: level by name (trace, debug, info, warn, error, fatal), time in ISO 8601. */
export interface BrokerLogLine {
  level?: string
  time?: string
  msg?: string
  [key: string]: unknown
}

/** Whether a log line is a warning or worse (warn, error, fatal) */
export function isWarningOrWorse(line: BrokerLogLine): boolean {
  return line.level === 'warn' || line.level === 'error' || line.level === 'fatal'
}

export interface BrokerProcessOptions {
  /** Reused as is (and never removed); by default a fresh temporary directory, removed at cleanup. */
  dataDir?: string
  user?: string
  pass?: string
  logLevel?: string
  /** More command-line flags for main.js */
  args?: string[]
  /** How long to wait for the listening line (default 15 s) */
  startTimeoutMs?: number
}

export interface BrokerProcess {
  readonly pid: number
  readonly port: number
  /** amqp://user:pass@127.0.0.1:PORT/ */
  readonly url: string
  readonly dataDir: string
  /** stdout, line by line, as printed so far (complete lines only) */
  readonly stdoutLines: string[]
  /** stdout lines that parse as JSON */
  logs(): BrokerLogLine[]
  stderr(): string
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<BrokerExit>
  /** Sends a signal if the process is still running. */
  kill(signal?: NodeJS.Signals): void
  /** SIGTERM, then waits for the exit (SIGKILL and rejects after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<BrokerExit>
  /** SIGKILL, then waits for the exit. */
  crash(): Promise<BrokerExit>
  /** Starts a new broker on the same data directory; this one must have exited (see stop/crash). */
  restart(): Promise<BrokerProcess>
}

const LISTENING = 'Warren is listening for AMQP 0-9-1'

/** dist/src/main.js, found from this file (compiled to dist/test/helpers/broker-process.js). */
function mainScript(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    for (const candidate of [join(dir, 'src', 'main.js'), join(dir, 'dist', 'src', 'main.js')]) {
      if (existsSync(candidate)) return candidate
    }
    dir = dirname(dir)
  }
  throw new Error('cannot locate dist/src/main.js (build first: npx tsc -p tsconfig.json)')
}

// Loaded into the broker process before main.js: when the test process goes away, its end of the stdin
// pipe closes and the broker exits at once, so that no broker is ever left running.
const WATCHDOG =
  'data:text/javascript,' +
  encodeURIComponent(
    "process.stdin.on('end',()=>process.kill(process.pid,'SIGKILL'));" +
      "process.stdin.on('error',()=>process.kill(process.pid,'SIGKILL'));" +
      'process.stdin.resume();',
  )

type Child = ChildProcessByStdio<Writable, Readable, Readable>
const live = new Set<Child>()
const ownedDirs = new Set<string>()

process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL')
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true })
})

/** SIGKILLs every broker still running, waits for them, and removes the temporary data directories. */
export async function stopAllBrokerProcesses(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGKILL')
        }),
    ),
  )
  live.clear()
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true })
  ownedDirs.clear()
}

export async function startBrokerProcess(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  let dataDir = options.dataDir
  if (dataDir === undefined) {
    dataDir = await mkdtemp(join(tmpdir(), 'warren-proc-'))
    ownedDirs.add(dataDir)
  }
  return launch({ ...options, dataDir })
}

function launch(options: BrokerProcessOptions & { dataDir: string }): Promise<BrokerProcess> {
  const user = options.user ?? 'guest'
  const pass = options.pass ?? 'guest'
  const args = [
    '--import',
    WATCHDOG,
    mainScript(),
    '--port',
    '0',
    '--bind',
    '127.0.0.1',
    '--data-dir',
    options.dataDir,
    '--log-level',
    options.logLevel ?? 'info',
    // The HTTP endpoints' fixed default ports would collide between tests running at once
    '--prometheus-port',
    'none',
    '--management-port',
    'none',
    ...(options.args ?? []),
  ]
  const env: NodeJS.ProcessEnv = { ...process.env, WARREN_DEFAULT_USER: user, WARREN_DEFAULT_PASS: pass }
  const child: Child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] })
  live.add(child)
  // The broker never reads its stdin; a write error there only means it is gone
  child.stdin.on('error', () => {})

  const stdoutLines: string[] = []
  let partial = ''
  let stderr = ''
  let onLine: ((line: string) => void) | undefined
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (text: string) => {
    partial += text
    const lines = partial.split('\n')
    partial = lines.pop()!
    for (const line of lines) {
      stdoutLines.push(line)
      onLine?.(line)
    }
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => (stderr += text))

  const exited = new Promise<BrokerExit>((resolve) => {
    child.once('close', (code, signal) => {
      live.delete(child)
      resolve({ code, signal })
    })
    child.once('error', (err) => {
      stderr += String(err)
      live.delete(child)
      resolve({ code: null, signal: null })
    })
  })

  const describe = () => `broker ${args.slice(2).join(' ')}\nstdout:\n${stdoutLines.join('\n')}\nstderr:\n${stderr}`

  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }

  const waitExit = async (timeoutMs: number): Promise<BrokerExit> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        kill('SIGKILL')
        reject(new Error(`broker did not exit within ${timeoutMs} ms\n${describe()}`))
      }, timeoutMs)
    })
    try {
      return await Promise.race([exited, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  return new Promise<BrokerProcess>((resolve, reject) => {
    let settled = false
    const fail = (why: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      kill('SIGKILL')
      reject(new Error(`${why}\n${describe()}`))
    }
    const timer = setTimeout(
      () => fail(`broker did not print its listening line within ${options.startTimeoutMs ?? 15_000} ms`),
      options.startTimeoutMs ?? 15_000,
    )
    void exited.then((exit) => fail(`broker exited (code ${exit.code}, signal ${exit.signal}) before listening`))
    const check = (line: string) => {
      if (settled || !line.includes(LISTENING)) return
      let port: number
      try {
        port = Number((JSON.parse(line) as { port?: unknown }).port)
      } catch {
        return fail(`cannot parse the listening line: ${line}`)
      }
      if (!Number.isInteger(port) || port <= 0) return fail(`no port in the listening line: ${line}`)
      settled = true
      clearTimeout(timer)
      onLine = undefined
      const handle: BrokerProcess = {
        pid: child.pid!,
        port,
        url: `amqp://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@127.0.0.1:${port}/`,
        dataDir: options.dataDir,
        stdoutLines,
        logs: () =>
          stdoutLines.flatMap((l) => {
            try {
              return [JSON.parse(l) as BrokerLogLine]
            } catch {
              return []
            }
          }),
        stderr: () => stderr,
        exited,
        kill,
        stop: (timeoutMs = 15_000) => {
          kill('SIGTERM')
          return waitExit(timeoutMs)
        },
        crash: () => {
          kill('SIGKILL')
          return waitExit(15_000)
        },
        restart: async () => {
          if (child.exitCode === null && child.signalCode === null)
            throw new Error('restart: the broker is still running; stop() or crash() it first')
          await exited
          return launch(options)
        },
      }
      resolve(handle)
    }
    onLine = check
    for (const line of stdoutLines) check(line)
  })
}
