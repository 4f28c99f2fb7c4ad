/**
 * warren-bench: a load generator for AMQP 0-9-1 brokers, in the spirit of
 * RabbitMQ's PerfTest and lavinmqperf, with an RPC round-trip mode (--rpc).
 * See docs/bench-tool.md.
 */
import { parseOptions, USAGE, UsageError, type BenchOptions } from './options.js'
import {
  formatHeader,
  formatProgress,
  formatRpcHeader,
  formatRpcProgress,
  formatRpcSummary,
  formatSummary,
} from './report.js'
import { runRpcBench } from './rpc-run.js'
import { runBench } from './run.js'

function parseOrExit(): BenchOptions {
  try {
    const options = parseOptions(process.argv.slice(2))
    if (options === null) {
      process.stdout.write(USAGE)
      process.exit(0)
    }
    return options
  } catch (error) {
    // parseArgs throws TypeErrors for unknown options and missing values
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`warren-bench: ${message}\n\n${error instanceof UsageError ? '' : USAGE}`)
    process.exit(2)
  }
}

const options = parseOrExit()
// With --json, stdout carries only the result object
const log = (line: string): void => {
  ;(options.json ? process.stderr : process.stdout).write(`${line}\n`)
}

// First Ctrl-C ends the run early but still reports and cleans up; the second quits
const interrupt = new AbortController()
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(130)
  log('interrupted: stopping (Ctrl-C again to quit at once)')
  interrupt.abort()
})

try {
  if (options.rpc !== null) {
    const result = await runRpcBench(options, {
      started: (settings) => log(formatRpcHeader(settings)),
      progress: (sample) => log(formatRpcProgress(sample)),
      notice: (text) => process.stderr.write(`warren-bench: ${text}\n`),
      signal: interrupt.signal,
    })
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else log(formatRpcSummary(result))
    // In flight is bounded, so requests left unanswered were lost, not queued
    const wrong = result.wrongReplies.unexpected + result.wrongReplies.mismatched
    if (result.incomplete || wrong > 0) process.exitCode = 1
  } else {
    const result = await runBench(options, {
      started: (settings) => log(formatHeader(settings)),
      progress: (sample) => log(formatProgress(sample, options.confirm > 0)),
      notice: (text) => process.stderr.write(`warren-bench: ${text}\n`),
      signal: interrupt.signal,
    })
    if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else log(formatSummary(result))
    // In duration mode a backlog left at the end is a finding, not a failure
    if (result.incomplete && options.count !== null) process.exitCode = 1
  }
} catch (error) {
  process.stderr.write(`warren-bench: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exitCode = 1
}
