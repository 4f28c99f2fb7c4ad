// Keys named like Object.prototype members, in tables that come from JSON (the definitions file) as well as
// from the wire: unknown keys, never the prototype's functions.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  assertArgumentsEquivalent,
  QUEUE_EQUIVALENCE_ARGS,
  validateQueueArguments,
} from '../../../src/broker/arguments.js'
import { policyError } from '../../../src/broker/policy.js'
import { queueSettings } from '../../../src/broker/queue/queue-settings.js'
import type { FieldTable } from '../../../src/protocol/field-value.js'
import type { PolicyDefinition } from '../../../src/store/definitions-log.js'

const KEYS = ['hasOwnProperty', 'constructor', '__proto__', 'toString', 'valueOf', 'isPrototypeOf']

/** A plain object from JSON, as the definitions file gives it: '__proto__' becomes an own key there. */
const fromJson = (key: string, value: unknown): FieldTable => JSON.parse(JSON.stringify({ [key]: value })) as FieldTable

test('queue arguments from JSON with these keys are unknown arguments: accepted, and not compared', () => {
  for (const key of KEYS) {
    const args = fromJson(key, 'x')
    assert.ok(Object.hasOwn(args, key), `${key} is an own key of the parsed object`)
    assert.doesNotThrow(() => validateQueueArguments(args, "queue 'q' in vhost '/'"), key)
    assert.doesNotThrow(
      () => assertArgumentsEquivalent(args, fromJson(key, 'y'), QUEUE_EQUIVALENCE_ARGS, "queue 'q' in vhost '/'"),
      key,
    )
    const s = queueSettings(args, fromJson(key, 1))
    assert.equal(s.expires, undefined, key)
    assert.equal(s.messageTtl, undefined, key)
    assert.equal(s.overflow, 'drop-head', key)
  }
})

test('a policy key named like an Object.prototype member is unknown', () => {
  for (const key of KEYS) {
    const def: PolicyDefinition = {
      vhost: '/',
      name: 'p',
      pattern: '.*',
      applyTo: 'queues',
      priority: 0,
      definition: fromJson(key, 1) as PolicyDefinition['definition'],
    }
    assert.equal(policyError(def), `unknown policy key '${key}'`)
  }
})
