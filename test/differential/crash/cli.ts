// Runs crash programs from the command line (after `npm run build`):
//
//   node dist/test/differential/crash/cli.js --runs 300            # seed from the clock
//   node dist/test/differential/crash/cli.js --seed 1234 --runs 1  # replays program 1234
//   ... --quiet (one line per violation only), --json FILE (the summary, violations included)
//
// Without --runs it does nothing, because `node --test dist/test/` loads every file under dist/test/.
import { writeFileSync } from 'node:fs'
import { stopAllBrokerProcesses } from '../../helpers/broker-process.js'
import { runCrashPrograms } from './index.js'

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const runs = flag('--runs')
if (runs !== undefined) {
  const seed = Number(flag('--seed') ?? Date.now() % 2 ** 31)
  const quiet = process.argv.includes('--quiet')
  const json = flag('--json')
  const summary = await runCrashPrograms({
    seed,
    runs: Number(runs),
    log: (line) => {
      if (!quiet || line.includes('PROBLEMS') || line.includes('first deliveries')) console.log(line)
    },
  })
  await stopAllBrokerProcesses()
  const { violations, ...figures } = summary
  console.log(JSON.stringify({ ...figures, violations: violations.length }))
  for (const v of violations) console.log(JSON.stringify(v))
  if (json) writeFileSync(json, JSON.stringify(summary, null, 2))
  process.exitCode = violations.length > 0 ? 1 : 0
}
