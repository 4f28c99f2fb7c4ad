// Starts a long-running program (a consumer, a server) and lets a test wait for a line of its output
// before going on, then for it to exit.
import { spawn, type ChildProcess } from 'node:child_process'

export interface ExitResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface SpawnedProcess {
  readonly child: ChildProcess
  /** everything written to stdout so far */
  stdout(): string
  stderr(): string
  /** resolves with the first stdout line matching `pattern`; rejects on timeout or if the process exits first */
  waitForLine(pattern: RegExp | string, timeoutMs?: number): Promise<string>
  /** resolves when the process exits; kills it (SIGKILL) and rejects after `timeoutMs` */
  exited(timeoutMs?: number): Promise<ExitResult>
  /** SIGKILL, if still running */
  kill(): void
}

export function spawnProcess(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): SpawnedProcess {
  const child = spawn(command, args, {
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  })
  const name = [command, ...args].join(' ')
  let stdout = ''
  let stderr = ''
  let exit: ExitResult | undefined
  const listeners = new Set<() => void>()
  const notify = () => listeners.forEach((l) => l())

  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString()
    notify()
  })
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const closed = new Promise<ExitResult>((resolve) => {
    child.on('close', (code, signal) => {
      exit = { code, signal, stdout, stderr }
      resolve(exit)
      notify()
    })
    child.on('error', (err) => {
      stderr += String(err)
      exit = { code: null, signal: null, stdout, stderr }
      resolve(exit)
      notify()
    })
  })

  const describe = () => `${name}\nstdout: ${stdout}\nstderr: ${stderr}`

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForLine(pattern, timeoutMs = 15_000) {
      const matches = (line: string) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line))
      return new Promise((resolve, reject) => {
        const check = () => {
          // only complete lines count
          const line = stdout.split('\n').slice(0, -1).find(matches)
          if (line !== undefined) done(() => resolve(line))
          else if (exit)
            done(() => reject(new Error(`exited (${exit?.code}) before printing ${pattern}: ${describe()}`)))
        }
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out waiting for ${pattern}: ${describe()}`))),
          timeoutMs,
        )
        const done = (settle: () => void) => {
          clearTimeout(timer)
          listeners.delete(check)
          settle()
        }
        listeners.add(check)
        check()
      })
    },
    exited(timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`timed out waiting for exit: ${describe()}`))
        }, timeoutMs)
        void closed.then((result) => {
          clearTimeout(timer)
          resolve(result)
        })
      })
    },
    kill() {
      if (!exit) child.kill('SIGKILL')
    },
  }
}
