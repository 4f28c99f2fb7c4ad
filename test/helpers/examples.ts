// Runs the example programs of examples/ (TypeScript compiled to dist/examples/ts, Python under
// examples/python) for the example tests: start a long-running consumer and wait until it is ready, run a
// producer to completion, collect output lines.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PYTHON, runProcess } from './python.js'
import { spawnProcess, type SpawnedProcess } from './spawn-wait.js'

export type Lang = 'ts' | 'py'
/** Every producer/consumer language pair, the cross-language ones included. */
export const LANGUAGE_PAIRS: Array<[producer: Lang, consumer: Lang]> = [
  ['ts', 'ts'],
  ['py', 'py'],
  ['py', 'ts'],
  ['ts', 'py'],
]

// The compiled helper is dist/test/helpers/examples.js
const root = fileURLToPath(new URL('../../../', import.meta.url))

export function outputLines(output: string): string[] {
  return output.split('\n').filter((line) => line !== '')
}

export class ExamplePrograms {
  private readonly running: SpawnedProcess[] = []

  /** env(exitAfter) gives a program's environment; exitAfter sets EXAMPLE_EXIT_AFTER for consumers. */
  constructor(private readonly env: (exitAfter?: number) => Record<string, string>) {}

  private command(lang: Lang, program: string): [string, string[]] {
    return lang === 'ts'
      ? [process.execPath, [join(root, 'dist/examples/ts', `${program}.js`)]]
      : [PYTHON, [join(root, 'examples/python', `${program}.py`)]]
  }

  /** Starts a long-running program and waits until it is ready (prints its "Waiting"/"Awaiting" line). */
  async start(lang: Lang, program: string, args: string[], exitAfter: number): Promise<SpawnedProcess> {
    const [cmd, baseArgs] = this.command(lang, program)
    const proc = spawnProcess(cmd, [...baseArgs, ...args], { env: this.env(exitAfter), cwd: root })
    this.running.push(proc)
    await proc.waitForLine(/ \[\*\] Waiting for|Awaiting RPC requests/)
    return proc
  }

  /** Runs a program to completion; asserts it exits 0 and returns its output lines. */
  async run(lang: Lang, program: string, args: string[] = []): Promise<string[]> {
    const [cmd, baseArgs] = this.command(lang, program)
    const result = await runProcess(cmd, [...baseArgs, ...args], { env: this.env(), timeoutMs: 15_000 })
    assert.equal(result.code, 0, `${program} (${lang}) failed\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
    return outputLines(result.stdout)
  }

  /** Waits for a started program to exit 0 by itself (EXAMPLE_EXIT_AFTER) and returns its output lines. */
  async finish(proc: SpawnedProcess): Promise<string[]> {
    const result = await proc.exited()
    assert.equal(result.code, 0, `consumer failed\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
    return outputLines(result.stdout)
  }

  /** Stops every program still running (after each test). */
  killAll(): void {
    for (const proc of this.running.splice(0)) proc.kill()
  }
}
