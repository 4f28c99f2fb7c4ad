// Runs the compiled warrenctl (dist/src/cli/warrenctl.js) in a child process, as a user would.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// Compiled next to this helper: dist/test/helpers → dist/src/cli
const CLI = fileURLToPath(new URL('../../src/cli/warrenctl.js', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs warrenctl with these arguments against `url`; never rejects, the exit code is in the result */
export function warrenctl(url: string, args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, WARREN_MGMT_URL: url } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
    child.stdin!.end(input ?? '')
  })
}
