// Runs generated programs against two brokers and reports where Warren does something RabbitMQ does not.
//
// Program i of a run with seed S is generated from seed S+i, so any one of them replays alone with
// `--seed S+i --runs 1`. A divergence is shrunk by fast-check (each candidate runs on both brokers again)
// and then run three more times, to tell a real difference from a timing accident.
import fc from 'fast-check'
import { programArbitrary, type Program } from './program.js'
import { ProgramRunner, runPrefix } from './runner.js'
import { describeDivergence, firstDivergence, normalise, type Divergence, type Trace } from './trace.js'

export interface Broker {
  name: string
  url: string
}

export interface Comparison {
  divergence: Divergence | undefined
  expected: Trace
  actual: Trace
  executed: number
  kinds: Set<string>
}

/** One program on both brokers at once; traces normalised. */
export async function compareOnce(program: Program, expected: Broker, actual: Broker): Promise<Comparison> {
  const expectedPrefix = runPrefix()
  const actualPrefix = runPrefix()
  const [e, a] = await Promise.all([
    new ProgramRunner(expected.url, expectedPrefix).run(program),
    new ProgramRunner(actual.url, actualPrefix).run(program),
  ])
  const expectedTrace = normalise(e.trace, expectedPrefix)
  const actualTrace = normalise(a.trace, actualPrefix)
  return {
    divergence: firstDivergence(expectedTrace, actualTrace),
    expected: expectedTrace,
    actual: actualTrace,
    executed: a.executed,
    kinds: a.kinds,
  }
}

export interface Found {
  seed: number
  /** the shrunk program */
  program: Program
  originalLength: number
  description: string
  /** how many of three reruns of the shrunk program diverged again */
  reproduced: number
}

export interface DifferentialOptions {
  seed: number
  runs: number
  expected: Broker
  actual: Broker
  /** programs run side by side (default 4) */
  concurrency?: number
  minOps?: number
  maxOps?: number
  /** time allowed for shrinking one divergence (default 120 s) */
  shrinkMs?: number
  log?: (line: string) => void
}

export interface DifferentialSummary {
  seed: number
  programs: number
  /** operations run by the generated programs (not counting shrinking) */
  operations: number
  /** program runs in all, shrinking included */
  executions: number
  kinds: Map<string, number>
  /** what the programs made RabbitMQ do: deliveries, returns, confirms, errors by code... */
  observed: Map<string, number>
  divergences: Found[]
  elapsedMs: number
}

export async function runDifferential(options: DifferentialOptions): Promise<DifferentialSummary> {
  const started = Date.now()
  const log = options.log ?? (() => {})
  const summary: DifferentialSummary = {
    seed: options.seed,
    programs: 0,
    operations: 0,
    executions: 0,
    kinds: new Map(),
    observed: new Map(),
    divergences: [],
    elapsedMs: 0,
  }
  const arbitrary = programArbitrary(options.minOps, options.maxOps)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let i = next++; i < options.runs; i = next++) {
      const seed = options.seed + i
      let first = true
      let originalLength = 0
      let last: Divergence | undefined
      const property = fc.asyncProperty(arbitrary, async (program) => {
        const comparison = await compareOnce(program, options.expected, options.actual)
        summary.executions++
        if (first) {
          first = false
          originalLength = program.length
          summary.programs++
          summary.operations += comparison.executed
          if (summary.programs % 250 === 0) {
            log(
              `... ${summary.programs} programs, ${summary.operations} operations, ${summary.divergences.length} divergences`,
            )
          }
          for (const kind of comparison.kinds) summary.kinds.set(kind, (summary.kinds.get(kind) ?? 0) + 1)
          countObservations(comparison.expected, summary.observed)
        }
        if (comparison.divergence) last = comparison.divergence
        return comparison.divergence === undefined
      })
      const result = await fc.check(property, {
        seed,
        numRuns: 1,
        interruptAfterTimeLimit: options.shrinkMs ?? 120_000,
        markInterruptAsFailure: false,
      })
      if (!result.failed || !result.counterexample) continue
      const program = result.counterexample[0]
      let reproduced = 0
      for (let k = 0; k < 3; k++) {
        const again = await compareOnce(program, options.expected, options.actual)
        summary.executions++
        if (again.divergence) reproduced++
      }
      const description =
        result.errorInstance && !last
          ? `the harness failed: ${String(result.errorInstance)}`
          : describeDivergence(last!, options.expected.name, options.actual.name)
      const found = { seed, program, originalLength, description, reproduced }
      summary.divergences.push(found)
      log(formatFound(found))
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker))
  summary.elapsedMs = Date.now() - started
  return summary
}

/** Tallies what a trace shows happening, for the summary. */
function countObservations(trace: Trace, into: Map<string, number>): void {
  const add = (what: string, n = 1): void => void into.set(what, (into.get(what) ?? 0) + n)
  for (const step of trace) {
    const result = step.result as { error?: { code?: number }; body?: string } | string
    if (typeof result === 'object' && result !== null) {
      if (result.error) add(`error ${result.error.code ?? 'client'}`)
      if (result.body !== undefined) add('message got')
    }
    for (const [stream, events] of Object.entries(step.events)) {
      if (stream.endsWith(' returns')) add('return', events.length)
      else if (stream.endsWith(' confirms')) add('confirm', events.length)
      else if (stream.startsWith('conn')) add('connection closed', events.length)
      else if (!stream.includes(' ')) add('channel closed', events.length)
      else {
        for (const event of events) {
          const e = event as { cancelled?: boolean; redelivered?: boolean }
          add(e.cancelled ? 'consumer cancelled' : e.redelivered ? 'delivery (redelivered)' : 'delivery')
        }
      }
    }
  }
}

export function formatFound(found: Found): string {
  return [
    `DIVERGENCE (seed ${found.seed}, ${found.originalLength} operations shrunk to ${found.program.length}, ` +
      `reproduced ${found.reproduced}/3)`,
    found.description,
    `program: ${JSON.stringify(found.program)}`,
  ].join('\n')
}
