// Runs the Python programs of the pika suites (test/integration/pika/*.py). Each program runs a group of
// scenarios against the broker and prints one JSON line per scenario with what it observed; the node tests
// assert on those observations, so failures show in the node test report.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runPython } from './python.js'

// Observations are free-form JSON written by the Python programs.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obs = Record<string, any>

export const ADMIN_USER = 'admin'
export const ADMIN_PASS = '123456'

/** test/integration/pika, found from the sources or from dist/ */
export const SCRIPT_DIR = ((): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'test', 'integration', 'pika')
    if (existsSync(join(candidate, 'common.py'))) return candidate
    dir = dirname(dir)
  }
  throw new Error('cannot locate test/integration/pika/common.py')
})()

/** Starts the programs at once; scenario() then waits for the one it needs. */
export class ScenarioRuns<Program extends string> {
  private readonly runs = new Map<Program, Promise<Map<string, Obs>>>()

  start(programs: readonly Program[], url: string, timeoutMs: number): void {
    for (const program of programs) {
      const run = runProgram(program, url, timeoutMs)
      run.catch(() => {}) // reported by the tests that read it
      this.runs.set(program, run)
    }
  }

  /** Waits for every program (the suite's after hook), whatever their outcome. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.runs.values())
  }

  /** The observations of one scenario; fails when the program did not report it or it raised unexpectedly. */
  async scenario(program: Program, name: string): Promise<Obs> {
    const results = await this.runs.get(program)!
    const obs = results.get(name)
    assert.ok(obs, `${program}.py printed no result for scenario ${name}`)
    assert.equal(obs['error'], undefined, `${program}.py ${name} raised:\n${obs['traceback'] ?? ''}`)
    return obs
  }
}

async function runProgram(program: string, url: string, timeoutMs: number): Promise<Map<string, Obs>> {
  const res = await runPython(join(SCRIPT_DIR, `${program}.py`), [url], {
    env: { AMQP_URL: url, PYTHONDONTWRITEBYTECODE: '1' },
    timeoutMs,
  })
  const out = new Map<string, Obs>()
  for (const line of res.stdout.split('\n')) {
    if (!line.startsWith('{')) continue
    const obs = JSON.parse(line) as Obs
    out.set(String(obs['scenario']), obs)
  }
  assert.equal(res.code, 0, `${program}.py exited with ${res.code}\nstdout:\n${res.stdout}\nstderr:\n${res.stderr}`)
  return out
}

/** A channel-level error: ChannelClosedByBroker with the exact code and text, connection still open. */
export function assertChannelError(obs: Obs, code: number, text: string): void {
  assert.deepEqual(
    { exc: obs['exc'], code: obs['code'], text: obs['text'] },
    { exc: 'ChannelClosedByBroker', code, text },
  )
  if ('connection_open' in obs)
    assert.equal(obs['connection_open'], true, 'a channel error must not close the connection')
}
