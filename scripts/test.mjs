#!/usr/bin/env node
// Runs the compiled tests whose TypeScript source exists, so a test renamed or deleted in test/ never runs
// from a stale dist/ copy (node --test dist/test/ would run every .js left there). Arguments are passed to
// node --test (e.g. --test-name-pattern); paths given after them narrow the run to those sources, and
// --exclude=PATH (repeatable) leaves out the sources under PATH.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = join(import.meta.dirname, '..')
const sourceRoots = ['test', 'examples']

function* testSources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') yield* testSources(path)
    } else if (entry.name.endsWith('.test.ts')) yield relative(root, path)
  }
}

const excluded = process.argv
  .slice(2)
  .filter((a) => a.startsWith('--exclude='))
  .map((a) => a.slice('--exclude='.length))
const options = process.argv.slice(2).filter((a) => a.startsWith('-') && !a.startsWith('--exclude='))
const only = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const files = []
for (const sourceRoot of sourceRoots) {
  if (!existsSync(join(root, sourceRoot))) continue
  for (const source of testSources(join(root, sourceRoot))) {
    if (only.length > 0 && !only.some((o) => source.startsWith(o))) continue
    if (excluded.some((e) => source.startsWith(e))) continue
    const compiled = join('dist', source.replace(/\.ts$/, '.js'))
    if (!existsSync(join(root, compiled))) {
      console.error(`${compiled} is missing: run npm run build`)
      process.exit(1)
    }
    files.push(compiled)
  }
}
if (files.length === 0) {
  console.error('no test files found')
  process.exit(1)
}
const { status } = spawnSync(process.execPath, ['--test', ...options, ...files], { cwd: root, stdio: 'inherit' })
process.exit(status ?? 1)
