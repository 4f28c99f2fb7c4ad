// Warren's version, from the package.json of the tree this file runs from (dist/src/config or src/config).
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'package.json')
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === 'warren' && typeof pkg.version === 'string') return pkg.version
    }
    dir = dirname(dir)
  }
  throw new Error("cannot find Warren's package.json")
}
