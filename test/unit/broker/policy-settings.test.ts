import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Policy, effectivePolicy, mergeOperatorPolicy, policyError } from '../../../src/broker/policy.js'
import { queueSettings } from '../../../src/broker/queue/queue-settings.js'
import type { PolicyDefinition } from '../../../src/store/definitions-log.js'

const def = (
  name: string,
  pattern: string,
  priority: number,
  definition: PolicyDefinition['definition'],
  applyTo: PolicyDefinition['applyTo'] = 'queues',
): PolicyDefinition => ({
  vhost: '/',
  name,
  pattern,
  applyTo,
  priority,
  definition,
})

test('the matching policy with the highest priority applies', () => {
  const policies = [
    new Policy(def('low', '^orders', 0, { 'max-length': 10 })),
    new Policy(def('high', '^orders\\.eu', 5, { 'max-length': 20 })),
    new Policy(def('exchanges', '.*', 9, { 'alternate-exchange': 'ae' }, 'exchanges')),
  ]
  assert.equal(effectivePolicy(policies, 'queues', 'orders.eu.1')?.name, 'high')
  assert.equal(effectivePolicy(policies, 'queues', 'orders.us')?.name, 'low')
  assert.equal(effectivePolicy(policies, 'queues', 'billing'), undefined)
  assert.equal(effectivePolicy(policies, 'exchanges', 'orders.eu.1')?.name, 'exchanges')
})

test('queue arguments win over the policy; the policy fills in the rest', () => {
  const s = queueSettings(
    { 'x-max-length': 5, 'x-dead-letter-exchange': 'dlx' },
    { 'max-length': 100, 'message-ttl': 1000, 'dead-letter-exchange': 'other', overflow: 'reject-publish' },
  )
  assert.equal(s.maxLength, 5)
  assert.equal(s.deadLetterExchange, 'dlx')
  assert.equal(s.messageTtl, 1000)
  assert.equal(s.overflow, 'reject-publish')
})

test('for the limits (ttl, expiry, lengths) the smaller of argument and policy applies, as RabbitMQ res_min', () => {
  // RabbitMQ 3.10.8: x-max-length 5 under a policy max-length 2 keeps 2 messages (checked with amqplib)
  const s = queueSettings(
    { 'x-max-length': 5, 'x-max-length-bytes': 10, 'x-message-ttl': 100, 'x-expires': 50_000 },
    { 'max-length': 2, 'max-length-bytes': 100, 'message-ttl': 50, expires: 60_000 },
  )
  assert.deepEqual([s.maxLength, s.maxLengthBytes, s.messageTtl, s.expires], [2, 10, 50, 50_000])
})

test("an operator policy's limits apply unless the user policy's are smaller", () => {
  assert.deepEqual(
    mergeOperatorPolicy(
      { 'max-length': 7, 'message-ttl': 10, 'dead-letter-exchange': 'dlx' },
      { 'max-length': 3, 'message-ttl': 60_000, expires: 1000 },
    ),
    { 'max-length': 3, 'message-ttl': 10, 'dead-letter-exchange': 'dlx', expires: 1000 },
  )
  assert.deepEqual(mergeOperatorPolicy({}, { 'max-length': 3 }), { 'max-length': 3 })
  assert.deepEqual(mergeOperatorPolicy({ 'max-length': 3 }, {}), { 'max-length': 3 })
})

test('operator policies take the limit keys only, as RabbitMQ', () => {
  const op = (definition: PolicyDefinition['definition']) => ({
    ...def('op', '.*', 0, definition),
    kind: 'operator' as const,
  })
  assert.equal(policyError(op({ 'max-length': 1, 'delivery-limit': 2, 'max-in-memory-length': 3 })), undefined)
  assert.match(policyError(op({ overflow: 'reject-publish' }))!, /unknown operator policy key 'overflow'/)
  assert.match(policyError(op({ 'max-length': -1 }))!, /non-negative integer/)
})

test('invalid policies are refused with the reason', () => {
  assert.match(policyError(def('p', '(', 0, {}))!, /invalid pattern/)
  assert.match(policyError(def('p', '.*', 0, { 'no-such-key': 1 }))!, /unknown policy key 'no-such-key'/)
  assert.match(policyError(def('p', '.*', 0, { 'max-length': 'ten' }))!, /takes a number/)
  assert.match(policyError(def('p', '.*', 0, { 'max-length': -1 }))!, /non-negative integer/)
  assert.equal(policyError(def('p', '.*', 0, { 'max-length': 1, 'dead-letter-exchange': 'x' })), undefined)
})
