// The log line forms: JSON with level names and ISO times (what log shippers and the process tests read), and
// the text form for a terminal.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createLogger, textLine } from '../../../src/util/logger.js'

function capture(format: 'json' | 'text', level = 'info'): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = []
  return { lines, log: createLogger(level, format, { write: (line: string) => void lines.push(line) }) }
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

test('json: one object a line, level by name, ISO time, service, fields', () => {
  const { lines, log } = capture('json')
  log.info({ port: 5672 }, 'Warren is listening for AMQP 0-9-1')
  log.warn({ file: 'a b' }, 'damaged record skipped')
  log.debug('not at info')
  assert.equal(lines.length, 2)
  const [info, warn] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.equal(info!['level'], 'info')
  assert.equal(warn!['level'], 'warn')
  assert.match(String(info!['time']), ISO)
  assert.equal(new Date(String(info!['time'])).toISOString(), info!['time'])
  assert.deepEqual(
    [info!['service'], info!['port'], info!['msg']],
    ['warren', 5672, 'Warren is listening for AMQP 0-9-1'],
  )
  assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')))
})

test('text: TIME LEVEL message key=value, strings with spaces quoted, objects as JSON', () => {
  const { lines, log } = capture('text')
  log.error({ dir: '/var/lib/warren', reason: 'in use', detail: { pid: 12 } }, 'cannot start')
  assert.equal(lines.length, 1)
  const line = lines[0]!
  assert.ok(line.endsWith('\n'))
  const [time, level, ...rest] = line.trimEnd().split(' ')
  assert.match(time!, ISO)
  assert.equal(level, 'ERROR')
  assert.equal(
    rest.filter((w) => w !== '').join(' '),
    'cannot start dir=/var/lib/warren reason="in use" detail={"pid":12}',
  )
})

test('text: the level column is padded so that messages line up; a line that is not JSON passes through', () => {
  assert.equal(
    textLine('{"level":"info","time":"2026-01-01T00:00:00.000Z","service":"warren","msg":"m","n":1}\n'),
    '2026-01-01T00:00:00.000Z INFO  m n=1\n',
  )
  assert.equal(textLine('not json\n'), 'not json\n')
})
