// The vhosts, users, permissions and limits of the permission matrix test (permissions.test.ts), written once
// and given to both brokers: Warren through its broker operations (applyPermissionFixture, from startBroker's
// setup), RabbitMQ as a definitions file loaded at boot (permissionFixtureDefinitions; RabbitMQ 3.10 imports
// users' `limits` and vhost limits as `vhost-limits` parameters). The password hashes are Warren's, so
// RabbitMQ accepting them checks their format too.
import type { Broker } from '../../src/broker/broker.js'
import { hashPassword, type HashingAlgorithm } from '../../src/auth/password.js'
import type { Permission, TopicPermission } from '../../src/auth/permissions.js'

type Limits = Record<string, number>

interface FixtureUser {
  name: string
  password: string
  tags: string[]
  algorithm: HashingAlgorithm
  /** vhost → permission */
  permissions: Record<string, Permission>
  topic?: (TopicPermission & { vhost: string })[]
  limits?: Limits
}

const ALL: Permission = { configure: '.*', write: '.*', read: '.*' }

export const FIXTURE_USERS: FixtureUser[] = [
  // guest as RabbitMQ creates it (the tests connect as guest to set things up)
  {
    name: 'guest',
    password: 'guest',
    tags: ['administrator'],
    algorithm: 'rabbit_password_hashing_sha256',
    permissions: { '/': ALL, limited: ALL, doomed: ALL },
  },
  {
    name: 'alice',
    password: 'alice-pw',
    tags: [],
    algorithm: 'rabbit_password_hashing_sha256',
    permissions: { '/': { configure: '^alice-', write: '^alice-', read: '^alice-' } },
    topic: [{ vhost: '/', exchange: 'alice-topic', write: '^{username}\\.', read: '^public\\.' }],
  },
  // may configure nothing ('' is '^$'), write and read all
  {
    name: 'noconf',
    password: 'noconf-pw',
    tags: [],
    algorithm: 'rabbit_password_hashing_sha512',
    permissions: { '/': { configure: '', write: '.*', read: '.*' } },
  },
  { name: 'nobody', password: 'nobody-pw', tags: [], algorithm: 'rabbit_password_hashing_sha256', permissions: {} },
  {
    name: 'imp',
    password: 'imp-pw',
    tags: ['impersonator'],
    algorithm: 'rabbit_password_hashing_md5',
    permissions: { '/': ALL },
  },
  // one connection and one channel at most
  {
    name: 'carol',
    password: 'carol-pw',
    tags: [],
    algorithm: 'rabbit_password_hashing_sha256',
    permissions: { '/': ALL },
    limits: { 'max-connections': 1, 'max-channels': 1 },
  },
]

/** vhost → its limits ('doomed' is deleted by a test) */
export const FIXTURE_VHOSTS: Record<string, Limits> = {
  '/': {},
  limited: { 'max-connections': 1, 'max-queues': 1 },
  doomed: {},
}

const hashes = new Map(FIXTURE_USERS.map((u) => [u.name, hashPassword(u.password, u.algorithm)]))

export function applyPermissionFixture(broker: Broker): void {
  for (const [vhost, limits] of Object.entries(FIXTURE_VHOSTS)) {
    if (!broker.vhosts.has(vhost)) broker.createVhost(vhost)
    broker.setVhostLimits(vhost, limits)
  }
  for (const user of FIXTURE_USERS) {
    broker.putUser(user.name, {
      passwordHash: hashes.get(user.name)!,
      hashingAlgorithm: user.algorithm,
      tags: user.tags,
    })
    for (const [vhost, p] of Object.entries(user.permissions)) broker.setPermission(user.name, vhost, p)
    for (const { vhost, ...tp } of user.topic ?? []) broker.setTopicPermission(user.name, vhost, tp)
    broker.setUserLimits(user.name, user.limits ?? {})
  }
}

/** The same as a RabbitMQ definitions file (load_definitions). */
export function permissionFixtureDefinitions(): object {
  return {
    users: FIXTURE_USERS.map((u) => ({
      name: u.name,
      password_hash: hashes.get(u.name),
      hashing_algorithm: u.algorithm,
      tags: u.tags.join(','),
      ...(u.limits ? { limits: u.limits } : {}),
    })),
    vhosts: Object.keys(FIXTURE_VHOSTS).map((name) => ({ name })),
    permissions: FIXTURE_USERS.flatMap((u) =>
      Object.entries(u.permissions).map(([vhost, p]) => ({ user: u.name, vhost, ...p })),
    ),
    topic_permissions: FIXTURE_USERS.flatMap((u) => (u.topic ?? []).map((tp) => ({ user: u.name, ...tp }))),
    parameters: Object.entries(FIXTURE_VHOSTS)
      .filter(([, limits]) => Object.keys(limits).length > 0)
      .map(([vhost, value]) => ({ vhost, component: 'vhost-limits', name: 'limits', value })),
  }
}
