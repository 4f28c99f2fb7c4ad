// RabbitMQ's password hashes: Warren's are RabbitMQ's format, and a hash RabbitMQ made checks in Warren.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { hashPassword, isHashingAlgorithm, passwordMatches, type HashingAlgorithm } from '../../../src/auth/password.js'
import { UserStore } from '../../../src/auth/users.js'

// Made by RabbitMQ 3.10.8 (`rabbitmqctl add_user rabbitmade 'p@ssw0rd é'`, then export_definitions)
const RABBITMQ_HASH = 'I/HBtbGRhHDsqK8oBT1Yud2SeleRk8xm6sO/a6NDm7kZYnZM'

test('a password_hash exported from RabbitMQ matches its password (UTF-8) and nothing else', () => {
  assert.equal(passwordMatches(RABBITMQ_HASH, 'rabbit_password_hashing_sha256', 'p@ssw0rd é'), true)
  assert.equal(passwordMatches(RABBITMQ_HASH, 'rabbit_password_hashing_sha256', 'p@ssw0rd e'), false)
  assert.equal(passwordMatches(RABBITMQ_HASH, 'rabbit_password_hashing_sha512', 'p@ssw0rd é'), false)
})

test('each algorithm: 4-byte salt then the digest of salt and password, salted afresh each time', () => {
  const digestBytes: Record<HashingAlgorithm, number> = {
    rabbit_password_hashing_sha256: 32,
    rabbit_password_hashing_sha512: 64,
    rabbit_password_hashing_md5: 16,
  }
  for (const [algorithm, bytes] of Object.entries(digestBytes) as [HashingAlgorithm, number][]) {
    const hash = hashPassword('secret', algorithm)
    assert.equal(Buffer.from(hash, 'base64').length, 4 + bytes, algorithm)
    assert.notEqual(hashPassword('secret', algorithm), hash, `${algorithm}: a fresh salt`)
    assert.equal(passwordMatches(hash, algorithm, 'secret'), true, algorithm)
    assert.equal(passwordMatches(hash, algorithm, 'Secret'), false, algorithm)
  }
  assert.equal(isHashingAlgorithm('rabbit_password_hashing_md5'), true)
  assert.equal(isHashingAlgorithm('toString'), false)
})

test('no password (an empty hash) and a malformed hash match nothing, the empty password included', () => {
  for (const hash of ['', 'AAAA', 'not base64 at all']) {
    assert.equal(passwordMatches(hash, 'rabbit_password_hashing_sha256', ''), false, hash)
    assert.equal(passwordMatches(hash, 'rabbit_password_hashing_sha256', 'x'), false, hash)
  }
})

test('UserStore: an unknown user and a wrong password are refused alike; tags, remove, list', () => {
  const users = new UserStore()
  users.add('app', 'pw', ['impersonator'])
  users.addHashed('exported', RABBITMQ_HASH, 'rabbit_password_hashing_sha256', ['monitoring'])
  users.addHashed('nopass', '', 'rabbit_password_hashing_sha256', [])
  assert.equal(users.authenticate('exported', 'p@ssw0rd é').ok, true)
  assert.equal(users.authenticate('app', 'pw').ok, true)
  const wrong = users.authenticate('app', 'nope')
  const unknown = users.authenticate('nobody', 'nope')
  assert.equal(wrong.ok, false)
  assert.equal(unknown.ok, false)
  assert.equal(users.authenticate('nopass', '').ok, false)
  // a blank password is refused even when it is the user's (RabbitMQ's internal backend)
  users.add('blank', '')
  assert.equal(users.authenticate('blank', '').ok, false)
  users.remove('blank')
  assert.deepEqual(users.get('app')?.tags, ['impersonator'])
  assert.equal(users.get('app')?.hashingAlgorithm, 'rabbit_password_hashing_sha256')
  assert.deepEqual(
    users.list().map((u) => u.name),
    ['app', 'exported', 'nopass'],
  )
  assert.equal(users.remove('app'), true)
  assert.equal(users.remove('app'), false)
  assert.equal(users.authenticate('app', 'pw').ok, false)
})
