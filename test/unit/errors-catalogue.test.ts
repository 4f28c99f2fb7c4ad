// The reply-code catalogue in docs/errors.md must list every code of the protocol description, with its kind;
// and every error the broker builds must get the class (channel or connection) that the description gives.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import * as errors from '../../src/protocol/errors.js'
import { AmqpError, ChannelError, ConnectionError, amqpError } from '../../src/protocol/errors.js'
import { ERROR_KINDS, HARD_ERRORS, REPLY_CODE_NAMES, type ErrorCode } from '../../src/protocol/generated/constants.js'

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

const spec = JSON.parse(readFileSync(new URL('src/protocol/spec/amqp-0-9-1.json', root), 'utf8')) as {
  replyCodes: Array<{ code: number; name: string; kind: string }>
}

/** The class the specification gives a code's errors. */
const classFor = (kind: string) => (kind === 'channel' ? ChannelError : ConnectionError)

test('amqpError builds the class the specification gives each reply code', () => {
  const codes = spec.replyCodes.filter((c) => c.kind !== 'success')
  assert.deepEqual(
    Object.keys(ERROR_KINDS).map(Number),
    codes.map((c) => c.code),
  )
  for (const { code, name, kind } of codes) {
    const error = amqpError(code as ErrorCode, 'detail')
    assert.equal(error.constructor, classFor(kind), `${code} ${name}`)
    assert.equal(HARD_ERRORS.has(code), kind === 'connection', `${code} in HARD_ERRORS`)
    assert.equal(error.replyCode, code)
    assert.equal(error.message, `${name} - detail`)
  }
})

/** The factories whose name is not the camel-cased code name, and why. */
const RENAMED: Record<string, string> = {
  // CHANNEL_ERROR is a connection error; channelError would read as "a ChannelError"
  badChannelError: 'CHANNEL_ERROR',
}

test('every error factory is named after its code and builds the class the specification gives it', () => {
  const camel = (name: string) => name.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
  const factories = Object.entries(errors).filter(
    ([name, value]) =>
      typeof value === 'function' && !/^[A-Z]/.test(name) && !['amqpError', 'fitShortstr'].includes(name),
  ) as Array<[string, (detail: string) => unknown]>
  assert.ok(factories.length >= 13, `found ${factories.length} factories`)
  for (const [name, factory] of factories) {
    const error = factory('detail')
    assert.ok(error instanceof AmqpError, `${name} builds an AmqpError`)
    const row = spec.replyCodes.find((c) => c.code === error.replyCode)
    assert.ok(row, `${name}: code ${error.replyCode} is in the specification`)
    const expectedName = Object.keys(RENAMED).find((renamed) => RENAMED[renamed] === row.name) ?? camel(row.name)
    assert.equal(name, expectedName, `${name} is named after ${row.name}`)
    assert.equal(
      error.constructor,
      classFor(row.kind),
      `${name} (${error.replyCode} ${row.name}) is a ${row.kind} error`,
    )
  }
})
