// The regression tests the differential tests leave behind: each divergence found, once shrunk, is saved
// in test/differential/regressions/NAME.json with RabbitMQ's trace, and regressions.test.ts replays it
// against Warren in the normal suite (`npm run test:differential -- --program JSON --record NAME`).
import { readdirSync, readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Program } from './program.js'
import type { Trace } from './trace.js'

export interface Regression {
  /** what the divergence was */
  title: string
  program: Program
  /** RabbitMQ's trace of the program, normalised */
  rabbitmq: Trace
}

/** test/differential/regressions in the source tree (this file runs from dist/test/differential). */
function regressionsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  if (dir.includes(`${join('dist', 'test')}`)) dir = dir.replace(join('dist', 'test'), 'test')
  return join(dir, 'regressions')
}

export async function saveRegression(name: string, title: string, program: Program, rabbitmq: Trace): Promise<string> {
  const file = join(regressionsDir(), `${name}.json`)
  const regression: Regression = { title, program, rabbitmq }
  await writeFile(file, JSON.stringify(regression, null, 1) + '\n')
  return file
}

export function loadRegressions(): { name: string; regression: Regression }[] {
  const dir = regressionsDir()
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({
      name: file.slice(0, -'.json'.length),
      regression: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Regression,
    }))
}
