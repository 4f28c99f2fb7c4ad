// Users and their credentials. Passwords are kept as salted SHA-256 hashes, as RabbitMQ does by default
// (rabbit_password_hashing_sha256), never in clear.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export interface User {
  readonly name: string
  readonly passwordHash: Buffer
  readonly tags: readonly string[]
  /** May log in only from a loopback address (RabbitMQ's loopback_users, guest by default) */
  readonly loopbackOnly: boolean
}

export function hashPassword(password: string, salt: Buffer = randomBytes(4)): Buffer {
  const digest = createHash('sha256').update(salt).update(password, 'utf8').digest()
  return Buffer.concat([salt, digest])
}

function checkPassword(user: User, password: string): boolean {
  const salt = user.passwordHash.subarray(0, 4)
  const expected = hashPassword(password, salt)
  return expected.length === user.passwordHash.length && timingSafeEqual(expected, user.passwordHash)
}

export type AuthResult = { ok: true; user: User } | { ok: false; reason: string }

export class UserStore {
  private readonly users = new Map<string, User>()

  add(name: string, password: string, tags: string[] = [], loopbackOnly = false): User {
    const user: User = { name, passwordHash: hashPassword(password), tags, loopbackOnly }
    this.users.set(name, user)
    return user
  }

  get(name: string): User | undefined {
    return this.users.get(name)
  }

  authenticate(name: string, password: string, fromLoopback: boolean): AuthResult {
    const user = this.users.get(name)
    if (!user || !checkPassword(user, password)) return { ok: false, reason: `invalid credentials for user '${name}'` }
    if (user.loopbackOnly && !fromLoopback) {
      return { ok: false, reason: `user '${name}' can only connect via localhost` }
    }
    return { ok: true, user }
  }
}
