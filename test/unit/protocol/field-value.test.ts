// The field-value kernel: RabbitMQ's two comparisons of decoded values (header match ==, argument
// equivalence =:=) and Erlang's printing of floats. The expectations were checked against RabbitMQ 3.10.8
// (test/integration/amqplib/routing-headers.test.ts and queue.test.ts run them end to end) and erl.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  TypedValue,
  equivalentFieldValue,
  erlangFloat,
  sameFieldValue,
  type FieldValue,
} from '../../../src/protocol/field-value.js'

const byte = (n: number) => new TypedValue('b', n)
const long = (n: number | bigint) => new TypedValue('l', n)
const double = (n: number) => new TypedValue('d', n)
const float = (n: number) => new TypedValue('f', n)
const timestamp = (n: number) => new TypedValue('T', n)
const decimal = (scale: number, value: number) => new TypedValue('D', { scale, value })

/** [what, a, b, header match (==), argument equivalence (=:=)] */
const CASES: Array<[string, FieldValue, FieldValue, boolean, boolean]> = [
  ['integers of two widths', 1000, long(1000), true, true],
  ['an integer and a timestamp', 1000, timestamp(1000), true, true],
  ['an integer and a whole double', 1000, double(1000), true, false],
  ['a float and a double', float(1.5), double(1.5), true, true],
  ['a longstr and a binary', 'abc', Buffer.from('abc'), true, true],
  ['two longstrs that differ', 'abc', 'abd', false, false],
  ['a boolean and an integer', true, 1, false, false],
  ['a string and an integer', '1', 1, false, false],
  ['a decimal and an integer', decimal(0, 5), 5, false, false],
  ['two equal decimals', decimal(1, 50), decimal(1, 50), true, true],
  ['decimals of another scale', decimal(1, 50), decimal(0, 5), false, false],
  ['64-bit integers past 2^53', long(2n ** 60n + 1n), long(2n ** 60n), false, false],
  ['a 64-bit integer and the same number', long(2n ** 60n), 2 ** 60, true, true],
  ['void and void', null, null, true, true],
  ['void and a value', null, 'a', false, false],
  ['arrays with elements of one type', [byte(1), 'a'], [byte(1), 'a'], true, true],
  ['array elements of two integer widths', [byte(1)], [long(1)], false, false],
  ['array elements longstr and binary', ['a'], [Buffer.from('a')], false, false],
  ['arrays of two lengths', [byte(1)], [byte(1), byte(1)], false, false],
  ['tables alike', { k: byte(1), l: 'x' }, { k: byte(1), l: 'x' }, true, true],
  ['table values of two widths', { k: byte(1) }, { k: long(1) }, false, false],
  ['tables in another order', { k: byte(1), l: 'x' }, { l: 'x', k: byte(1) }, false, false],
  ['a table and an array', { k: 1 }, [1], false, false],
]

describe('field values compared as RabbitMQ compares Erlang terms', () => {
  for (const [what, a, b, same, equivalent] of CASES) {
    test(what, () => {
      assert.equal(sameFieldValue(a, b), same, 'header match')
      assert.equal(sameFieldValue(b, a), same, 'header match, the other way round')
      assert.equal(equivalentFieldValue(a, b), equivalent, 'argument equivalence')
      assert.equal(equivalentFieldValue(b, a), equivalent, 'argument equivalence, the other way round')
    })
  }
})

test('erlangFloat prints as io_lib ~p does (OTP 25)', () => {
  // from erl -eval 'io:format("~p", [F])'
  const ERL: Array<[number, string]> = [
    [1000, '1.0e3'],
    [100, '100.0'],
    [10, '10.0'],
    [1, '1.0'],
    [0, '0.0'],
    [-0, '-0.0'],
    [1.5, '1.5'],
    [0.1, '0.1'],
    [0.001, '0.001'],
    [0.0001, '0.0001'],
    [0.00001, '1.0e-5'],
    [12345, '12345.0'],
    [123456, '123456.0'],
    [1e10, '1.0e10'],
    [1.5e300, '1.5e300'],
    [1234.5678, '1234.5678'],
    [2e-5, '2.0e-5'],
    [1e21, '1.0e21'],
    [5e-324, '5.0e-324'],
    [100000, '1.0e5'],
    [120, '120.0'],
    [1200, '1.2e3'],
    [0.00314, '0.00314'],
    [1999, '1999.0'],
    [-1000, '-1.0e3'],
  ]
  for (const [n, text] of ERL) assert.equal(erlangFloat(n), text, String(n))
})
