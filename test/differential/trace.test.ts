// The comparator: what it normalises and what it must still see.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { describeDivergence, firstDivergence, normalise, type Trace } from './trace.js'

const gen = (c: string) => `amq.gen-${c.repeat(22)}`
const ctag = (c: string) => `amq.ctag-${c.repeat(22)}`

test('server-generated names are numbered by first appearance, the run prefix becomes ~, x-death times go', () => {
  const trace: Trace = [
    { op: 'queue.declare', result: { queue: gen('B') }, events: {} },
    { op: 'basic.consume run7.q1', result: { consumerTag: ctag('Z') }, events: {} },
    {
      op: 'basic.get',
      result: { queue: gen('A'), props: { headers: { 'x-death': [{ time: { '!': 'timestamp', value: 5 } }] } } },
      events: { [`ch0 ${ctag('Z')}`]: [{ body: gen('B') }] },
    },
  ]
  assert.deepEqual(normalise(trace, 'run7'), [
    { op: 'queue.declare', result: { queue: 'amq.gen-#1' }, events: {} },
    { op: 'basic.consume ~.q1', result: { consumerTag: 'amq.ctag-#1' }, events: {} },
    {
      op: 'basic.get',
      result: { queue: 'amq.gen-#2', props: { headers: { 'x-death': [{ time: 'T' }] } } },
      events: { 'ch0 amq.ctag-#1': [{ body: 'amq.gen-#1' }] },
    },
  ])
})

test('streams named after server-generated tags compare in the order of their normalised names', () => {
  const run = (first: string, second: string, prefix: string): Trace =>
    normalise(
      [
        { op: 'consume', result: { consumerTag: ctag(first) }, events: {} },
        { op: 'consume', result: { consumerTag: ctag(second) }, events: {} },
        // the runner sorts streams by the broker's names: here the second consumer's comes first
        {
          op: 'publish',
          result: 'ok',
          events: { [`ch0 ${ctag(second)}`]: [{ body: 'm2' }], [`ch0 ${ctag(first)}`]: [{ body: 'm1' }] },
        },
      ],
      prefix,
    )
  assert.equal(firstDivergence(run('Z', 'A', 'p1'), run('A', 'Z', 'p2')), undefined)
  assert.deepEqual(Object.keys(run('Z', 'A', 'p1')[2]!.events), ['ch0 amq.ctag-#1', 'ch0 amq.ctag-#2'])
})

test('two runs that differ only in what is normalised compare equal', () => {
  const a = normalise([{ op: 'declare p1.q', result: { queue: gen('x') }, events: {} }], 'p1')
  const b = normalise([{ op: 'declare p2.q', result: { queue: gen('y') }, events: {} }], 'p2')
  assert.equal(firstDivergence(a, b), undefined)
})

test('a different result, a different event, a missing step or a different order are each a divergence', () => {
  const base: Trace = [
    { op: 'a', result: 'ok', events: {} },
    { op: 'b', result: 'ok', events: { ch0: [{ tag: 1 }, { tag: 2 }] } },
  ]
  const changedResult: Trace = [base[0]!, { ...base[1]!, result: { error: { code: 404, text: 'NOT_FOUND' } } }]
  const reordered: Trace = [base[0]!, { ...base[1]!, events: { ch0: [{ tag: 2 }, { tag: 1 }] } }]
  const extraStream: Trace = [base[0]!, { ...base[1]!, events: { ...base[1]!.events, ch1: [{ closed: 1 }] } }]
  assert.equal(firstDivergence(base, changedResult)?.step, 1)
  assert.equal(firstDivergence(base, reordered)?.step, 1)
  assert.equal(firstDivergence(base, extraStream)?.step, 1)
  assert.equal(firstDivergence(base, base.slice(0, 1))?.step, 1)
  const text = describeDivergence(firstDivergence(base, extraStream)!)
  assert.match(text, /step 1: b/)
  assert.match(text, /Warren ch1: \[\{"closed":1\}\]/)
  assert.match(text, /RabbitMQ ch1: \(nothing\)/)
})
