#!/usr/bin/env node
// Writes docs/configuration.md from the settings table (src/config/settings.ts, rendered by reference.ts).
// `--check` renders in memory and fails if the committed file differs (npm run check), so the reference, the
// help and the environment names cannot drift apart. It runs before any build: src/config is compiled on the
// fly (TypeScript's transpileModule, no type check) into a temporary folder.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import prettier from 'prettier'
import ts from 'typescript'

const root = join(import.meta.dirname, '..')
const args = process.argv.slice(2)
const check = args.includes('--check')
const docsIndex = args.indexOf('--docs')
const docs = docsIndex >= 0 ? args[docsIndex + 1] : join(root, 'docs/configuration.md')

const out = mkdtempSync(join(tmpdir(), 'warren-config-docs-'))
let rendered
try {
  const sources = join(root, 'src/config')
  for (const name of readdirSync(sources).filter((n) => n.endsWith('.ts'))) {
    const { outputText } = ts.transpileModule(readFileSync(join(sources, name), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    })
    writeFileSync(join(out, name.replace(/\.ts$/, '.js')), outputText)
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}')
  const { renderReference } = await import(pathToFileURL(join(out, 'reference.js')).href)
  const options = (await prettier.resolveConfig(docs)) ?? {}
  rendered = await prettier.format(renderReference(), { ...options, parser: 'markdown' })
} finally {
  rmSync(out, { recursive: true, force: true })
}

if (check) {
  let committed = ''
  try {
    committed = readFileSync(docs, 'utf8')
  } catch {
    // no file yet: it differs
  }
  if (committed !== rendered) {
    console.error(`${docs} is out of date with src/config/settings.ts: run node scripts/gen-config-docs.mjs`)
    process.exit(1)
  }
} else {
  writeFileSync(docs, rendered)
}
