#!/usr/bin/env node
// warrenctl: Warren's command line tool, an HTTP client of the management API (no broker code in here).
// Errors are one line on stderr and an exit code (client.ts EXIT), as rabbitmqctl's.
import { readFileSync } from 'node:fs'
import { CommanderError } from 'commander'
import { CliError, EXIT } from './client.js'
import { buildProgram } from './commands.js'

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string
    }
    return pkg.version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/** Runs warrenctl with these arguments (process.argv without node and script); answers the exit code */
export async function main(args: string[]): Promise<number> {
  const io = { out: (t: string) => void process.stdout.write(t), err: (t: string) => void process.stderr.write(t) }
  const program = buildProgram(io, packageVersion())
  try {
    await program.parseAsync(args, { from: 'user' })
    return EXIT.ok
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version, and help shown for no command at all are not failures of the user's
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok
      if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync')
        return err.exitCode === 0 ? EXIT.ok : EXIT.usage
      return EXIT.usage
    }
    if (err instanceof CliError) {
      io.err(`warrenctl: ${err.message}\n`)
      return err.exitCode
    }
    io.err(`warrenctl: ${err instanceof Error ? err.message : String(err)}\n`)
    return EXIT.refused
  }
}

process.exitCode = await main(process.argv.slice(2))
