// The users and permissions of the permission matrix test (permissions.test.ts), written once and given to
// both brokers: Warren's model directly (applyPermissionFixture, through startBroker's setup), RabbitMQ as a
// definitions file loaded at boot (permissionFixtureDefinitions, written by the RabbitMQ check described in
// the test file). The password hashes are Warren's, so RabbitMQ accepting them checks their format too.
import type { Broker } from '../../src/broker/broker.js'
import { hashPassword, type HashingAlgorithm } from '../../src/auth/password.js'
import type { Permission, TopicPermission } from '../../src/auth/permissions.js'

interface FixtureUser {
  name: string
  password: string
  tags: string[]
  algorithm: HashingAlgorithm
  /** vhost → permission */
  permissions: Record<string, Permission>
  topic?: (TopicPermission & { vhost: string })[]
}

const ALL: Permission = { configure: '.*', write: '.*', read: '.*' }

export const FIXTURE_USERS: FixtureUser[] = [
  // guest as RabbitMQ creates it (the tests connect as guest to set things up)
  {
    name: 'guest',
    password: 'guest',
    tags: ['administrator'],
    algorithm: 'rabbit_password_hashing_sha256',
    permissions: { '/': ALL },
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
]

/** The vhosts (vhosts are another part of Warren's issue 10: only '/' here) */
export const FIXTURE_VHOSTS = ['/']

const hashes = new Map(FIXTURE_USERS.map((u) => [u.name, hashPassword(u.password, u.algorithm)]))

export function applyPermissionFixture(broker: Broker): void {
  for (const user of FIXTURE_USERS) {
    broker.users.addHashed(user.name, hashes.get(user.name)!, user.algorithm, user.tags)
    for (const [vhost, p] of Object.entries(user.permissions)) broker.permissions.set(user.name, vhost, p)
    for (const { vhost, ...tp } of user.topic ?? []) broker.permissions.setTopic(user.name, vhost, tp)
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
    })),
    vhosts: FIXTURE_VHOSTS.map((name) => ({ name })),
    permissions: FIXTURE_USERS.flatMap((u) =>
      Object.entries(u.permissions).map(([vhost, p]) => ({ user: u.name, vhost, ...p })),
    ),
    topic_permissions: FIXTURE_USERS.flatMap((u) => (u.topic ?? []).map((tp) => ({ user: u.name, ...tp }))),
  }
}
