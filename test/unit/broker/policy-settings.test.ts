import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Policy, effectivePolicy, policyError } from '../../../src/broker/policy.js'
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

test('invalid policies are refused with the reason', () => {
  assert.match(policyError(def('p', '(', 0, {}))!, /invalid pattern/)
  assert.match(policyError(def('p', '.*', 0, { 'no-such-key': 1 }))!, /unknown policy key 'no-such-key'/)
  assert.match(policyError(def('p', '.*', 0, { 'max-length': 'ten' }))!, /takes a number/)
  assert.match(policyError(def('p', '.*', 0, { 'max-length': -1 }))!, /non-negative integer/)
  assert.equal(policyError(def('p', '.*', 0, { 'max-length': 1, 'dead-letter-exchange': 'x' })), undefined)
})
