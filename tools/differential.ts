// npm run test:differential -- [--seed S] [--runs N] [--concurrency C] [--rabbitmq URL] [--warren URL]
// npm run test:differential -- --seed S --show                  one program's traces on both brokers
// npm run test:differential -- --program JSON [--record NAME --title T]
//                                              the same for a given program; --record saves it, with
//                                              RabbitMQ's trace, as a regression test of the normal suite
//
// Runs N generated programs (seeds S..S+N-1) against RabbitMQ and Warren and prints every divergence with
// its shrunk program. Without --rabbitmq it starts a private RabbitMQ node (test/differential/rabbitmq.ts);
// without --warren it starts Warren from dist/ on a temporary data directory. Exits 1 on any divergence.
//
// npm run test:differential -- --crash [--seed S] [--runs N]
//   the crash variant (test/differential/crash/): Warren only, kill -9 at a generated point of each program,
//   restart, and the durability invariant; exits 1 on any violation
import { parseArgs } from 'node:util'
import { startBrokerProcess, stopAllBrokerProcesses } from '../test/helpers/broker-process.js'
import fc from 'fast-check'
import { compareOnce, runDifferential } from '../test/differential/harness.js'
import { OP_KINDS, programArbitrary, type Program } from '../test/differential/program.js'
import { saveRegression } from '../test/differential/regressions.js'
import { runCrashPrograms } from '../test/differential/crash/index.js'
import { startRabbitMq, type RabbitMq } from '../test/differential/rabbitmq.js'

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    runs: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    'max-ops': { type: 'string', default: '50' },
    rabbitmq: { type: 'string' },
    warren: { type: 'string' },
    show: { type: 'boolean', default: false },
    program: { type: 'string' },
    record: { type: 'string' },
    title: { type: 'string', default: '' },
    crash: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})

if (values.help) {
  console.log(
    'npm run test:differential -- [--seed S] [--runs N] [--concurrency C] [--max-ops M] [--rabbitmq URL] [--warren URL]',
  )
  process.exit(0)
}

const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
const runs = Number(values.runs)

if (values.crash) {
  console.log(`crash variant: seed ${seed}, ${runs} programs`)
  const summary = await runCrashPrograms({ seed, runs, log: (line) => console.log(line) })
  await stopAllBrokerProcesses()
  const { violations, ...figures } = summary
  console.log(JSON.stringify({ ...figures, violations: violations.length }))
  for (const v of violations) console.log(JSON.stringify(v))
  process.exit(violations.length > 0 ? 1 : 0)
}

console.log(`differential: seed ${seed}, ${runs} programs`)

let rabbit: RabbitMq | undefined
let exitCode = 0
try {
  let rabbitUrl = values.rabbitmq
  if (rabbitUrl === undefined) {
    rabbit = await startRabbitMq()
    rabbitUrl = rabbit.url
    console.log(`RabbitMQ started at ${rabbitUrl} (${rabbit.dir})`)
  }
  let warrenUrl = values.warren
  if (warrenUrl === undefined) {
    const warren = await startBrokerProcess({ args: ['--consumer-timeout', '3600000'] })
    warrenUrl = warren.url
    console.log(`Warren started at ${warrenUrl}`)
  }
  if (values.show || values.program !== undefined) {
    // one program (--program JSON, or the one seed S generates), both traces in full
    const program: Program =
      values.program !== undefined
        ? (JSON.parse(values.program) as Program)
        : fc.sample(programArbitrary(1, Number(values['max-ops'])), { seed, numRuns: 1 })[0]!
    const comparison = await compareOnce(
      program,
      { name: 'RabbitMQ', url: rabbitUrl },
      { name: 'Warren', url: warrenUrl },
    )
    comparison.expected.forEach((step, i) => {
      console.log(`${i} RabbitMQ ${JSON.stringify(step)}`)
      const actual = JSON.stringify(comparison.actual[i])
      if (actual !== JSON.stringify(step)) console.log(`${i} Warren   ${actual}`)
    })
    if (values.record !== undefined) {
      const file = await saveRegression(values.record, values.title, program, comparison.expected)
      console.log(`recorded RabbitMQ's trace in ${file}`)
    }
    process.exit(0)
  }
  const summary = await runDifferential({
    seed,
    runs,
    concurrency: Number(values.concurrency),
    maxOps: Number(values['max-ops']),
    expected: { name: 'RabbitMQ', url: rabbitUrl },
    actual: { name: 'Warren', url: warrenUrl },
    log: (line) => console.log(line),
  })
  const missing = OP_KINDS.filter((kind) => !summary.kinds.has(kind))
  console.log(
    `seed ${seed}: ${summary.programs} programs, ${summary.operations} operations, ` +
      `${summary.executions} program runs with shrinking, ${summary.divergences.length} divergences, ` +
      `${(summary.elapsedMs / 1000).toFixed(0)} s`,
  )
  console.log(`operation kinds run: ${[...summary.kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`)
  if (missing.length > 0) console.log(`operation kinds never run: ${missing.join(', ')}`)
  const observed = [...summary.observed].sort(([a], [b]) => (a < b ? -1 : 1))
  console.log(`observed on RabbitMQ: ${observed.map(([k, n]) => `${k} ${n}`).join(', ')}`)
  if (summary.divergences.length > 0) exitCode = 1
} finally {
  await stopAllBrokerProcesses()
  await rabbit?.stop()
}
process.exit(exitCode)
