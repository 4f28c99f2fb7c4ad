// The reply-code catalogue in docs/errors.md must list every code of the protocol description, with its kind.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { HARD_ERRORS, REPLY_CODE_NAMES } from '../../src/protocol/generated/constants.js'

const root = new URL('../../../', import.meta.url)

test('docs/errors.md lists every reply code with its name and kind', () => {
  const doc = readFileSync(new URL('docs/errors.md', root), 'utf8')
  const rows = new Map<number, { name: string; kind: string }>()
  for (const line of doc.split('\n')) {
    const m = /^\|\s*(\d{3})\s*\|\s*([A-Z_]+)\s*\|\s*(\w+)\s*\|/.exec(line)
    if (m) rows.set(Number(m[1]), { name: m[2]!, kind: m[3]! })
  }
  assert.equal(rows.size, REPLY_CODE_NAMES.size)
  for (const [code, name] of REPLY_CODE_NAMES) {
    const row = rows.get(code)
    assert.ok(row, `code ${code} missing from docs/errors.md`)
    assert.equal(row.name, name)
    const kind = code === 200 ? 'success' : HARD_ERRORS.has(code) ? 'connection' : 'channel'
    assert.equal(row.kind, kind, `kind of ${code}`)
  }
})
