// The crash variant of the differential tester (Warren only): random AMQP programs, each with a kill -9 of
// Warren at a generated point and a restart on the same data directory, then the invariant of check.ts.
// Program i uses seed `seed + i`, so a failing program replays alone with { seed: seed + i, runs: 1 }.
import { checkObservation } from './check.js'
import { crashProgram, describeKill } from './program.js'
import { runCrashProgram } from './run.js'

export { checkObservation, type Observation } from './check.js'
export { crashProgram, describeKill, type CrashProgram } from './program.js'

export interface CrashOptions {
  seed: number
  runs: number
  log?: (line: string) => void
}

export interface CrashViolation {
  seed: number
  program: unknown
  killAt: string
  problems: string[]
}

export interface CrashSummary {
  seed: number
  programs: number
  /** ops executed before the kills (one kill per program) */
  operations: number
  /** messages published / confirmed by the broker before the kills */
  published: number
  confirmed: number
  /** deliveries before the kills */
  delivered: number
  /** queue copies the invariant looked at (owed or present after the restart) */
  checkedMessages: number
  /** present after the restart though never delivered: how many, and how many said redelivered=true */
  neverDelivered: number
  neverDeliveredRedelivered: number
  /** present after the restart and delivered before the kill (all must have said redelivered=true) */
  deliveredBefore: number
  /** what became of deliveries before the kill: acked, dropped (nack/reject), requeued (incl. channel close) */
  settled: { ack: number; drop: number; requeue: number }
  /** first deliveries before the kill with redelivered=true (possible after a channel close) */
  firstDeliveryRedelivered: number
  ms: number
  violations: CrashViolation[]
}

export async function runCrashPrograms(options: CrashOptions): Promise<CrashSummary> {
  const started = Date.now()
  const summary: CrashSummary = {
    seed: options.seed,
    programs: 0,
    operations: 0,
    published: 0,
    confirmed: 0,
    delivered: 0,
    checkedMessages: 0,
    neverDelivered: 0,
    neverDeliveredRedelivered: 0,
    deliveredBefore: 0,
    firstDeliveryRedelivered: 0,
    settled: { ack: 0, drop: 0, requeue: 0 },
    ms: 0,
    violations: [],
  }
  for (let i = 0; i < options.runs; i++) {
    const seed = options.seed + i
    const program = crashProgram(seed)
    const killAt = describeKill(program.kill)
    const run = await runCrashProgram(program, seed)
    const check = checkObservation(run.observation)
    summary.programs++
    summary.operations += run.operations
    summary.published += run.published
    summary.confirmed += run.confirmed
    summary.delivered += run.delivered
    summary.checkedMessages += check.checkedCopies
    summary.neverDelivered += check.neverDelivered
    summary.neverDeliveredRedelivered += check.neverDeliveredRedelivered
    summary.deliveredBefore += check.deliveredBefore
    for (const event of run.observation.events) if (event.kind !== 'deliver') summary.settled[event.kind]++
    summary.firstDeliveryRedelivered += check.firstDeliveryRedelivered
    options.log?.(
      `seed ${seed}: ${program.ops.length} ops, killed ${killAt}; published ${run.published}, ` +
        `confirmed ${run.confirmed}, delivered ${run.delivered}, checked ${check.checkedCopies} copies` +
        ` in ${run.ms} ms` +
        (check.firstDeliveryRedelivered
          ? `; first deliveries with redelivered=true: ${check.firstDeliveryRedelivered}`
          : '') +
        (check.problems.length ? `; ${check.problems.length} PROBLEMS: ${check.problems.slice(0, 3).join(' | ')}` : ''),
    )
    if (check.problems.length > 0)
      summary.violations.push({ seed, program: JSON.parse(JSON.stringify(program)), killAt, problems: check.problems })
  }
  summary.ms = Date.now() - started
  return summary
}
