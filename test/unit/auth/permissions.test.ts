// Permissions matched as RabbitMQ's internal backend matches them, and a connection's cached checks.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConnectionAccess } from '../../../src/auth/access.js'
import { expandTopicPattern, patternMatches, Permissions } from '../../../src/auth/permissions.js'
import { ChannelError } from '../../../src/protocol/errors.js'
import { UserStore } from '../../../src/auth/users.js'

test("patterns are searched anywhere in the name (re:run), anchored only when they say so; '' is '^$'", () => {
  assert.equal(patternMatches('app', 'my-app-queue'), true)
  assert.equal(patternMatches('^app', 'my-app-queue'), false)
  assert.equal(patternMatches('^app-.*$', 'app-queue'), true)
  assert.equal(patternMatches('', 'anything'), false)
  assert.equal(patternMatches('', ''), true)
  assert.equal(patternMatches('.*', ''), true)
  // a pattern that cannot be compiled matches nothing
  assert.equal(patternMatches('(', 'x'), false)
})

test('topic patterns expand {username} and {vhost}', () => {
  assert.equal(expandTopicPattern('^{username}\\.{vhost}\\.{username}', { username: 'u', vhost: 'v' }), '^u\\.v\\.u')
})

test('Permissions: set, get, clear, topic permissions, removal with a user or vhost; every change moves the generation', () => {
  const p = new Permissions()
  const g0 = p.generation
  p.set('u', '/', { configure: 'c', write: 'w', read: 'r' })
  p.set('u', 'v2', { configure: '', write: '', read: '.*' })
  p.set('w', '/', { configure: '.*', write: '.*', read: '.*' })
  p.setTopic('u', '/', { exchange: 'amq.topic', write: '^a', read: '^b' })
  p.setTopic('u', '/', { exchange: 'other', write: '', read: '' })
  assert.ok(p.generation > g0)
  assert.deepEqual(p.get('u', '/'), { configure: 'c', write: 'w', read: 'r' })
  assert.equal(p.mayAccessVhost('u', 'v2'), true)
  assert.equal(p.mayAccessVhost('u', 'v3'), false)
  assert.equal(p.allows('u', '/', 'configure', 'xcx'), true)
  assert.equal(p.allows('u', '/', 'write', 'xcx'), false)
  assert.equal(p.listTopic().length, 2)
  p.clearTopic('u', '/', 'other')
  assert.deepEqual(
    p.listTopic().map((t) => t.exchange),
    ['amq.topic'],
  )
  p.removeVhost('v2')
  assert.deepEqual(
    p.list().map((e) => `${e.user}@${e.vhost}`),
    ['u@/', 'w@/'],
  )
  p.removeUser('u')
  assert.deepEqual(
    p.list().map((e) => e.user),
    ['w'],
  )
  assert.deepEqual(p.listTopic(), [])
  p.clear('w', '/')
  assert.equal(p.get('w', '/'), undefined)
})

test('ConnectionAccess: refusals in RabbitMQ 3.10 words; a change of permissions applies at the next check', () => {
  const users = new UserStore()
  const user = users.add('u', 'pw')
  const p = new Permissions()
  p.set('u', '/', { configure: '.*', write: '^amq\\.default$|^x$', read: '.*' })
  p.setTopic('u', '/', { exchange: 't', write: '^{username}\\.', read: '.*' })
  const access = new ConnectionAccess(p, user, '/')
  access.checkPublish('')
  access.checkPublish('x')
  access.checkTopic('write', 'topic', 't', 'u.k')
  access.checkTopic('write', 'direct', 't', 'v.k')
  assert.throws(
    () => access.checkTopic('write', 'topic', 't', 'v.k'),
    (e: unknown) =>
      e instanceof ChannelError &&
      e.replyCode === 403 &&
      e.message.includes("access to topic 'v.k' in exchange 't' in vhost '/' refused for user 'u'"),
  )
  p.set('u', '/', { configure: '.*', write: '', read: '.*' })
  assert.throws(
    () => access.checkPublish('x'),
    (e: unknown) =>
      e instanceof ChannelError && e.message.includes("access to exchange 'x' in vhost '/' refused for user 'u'"),
  )
  assert.throws(() => access.check('write', 'exchange', ''), /access to exchange 'amq.default' in vhost/)
})
