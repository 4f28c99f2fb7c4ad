// Users and their credentials. Passwords are kept as RabbitMQ keeps them (password.ts), never in clear.
// (Stub of the auth helper's module, with its signatures: the lead merges the real one.)
import { checkPassword, DEFAULT_HASHING, hashPassword, type HashingAlgorithm } from './password.js'

export interface User {
  readonly name: string
  /** base64 of salt ++ hash, as RabbitMQ exports it */
  readonly passwordHash: string
  readonly hashingAlgorithm: HashingAlgorithm
  readonly tags: readonly string[]
  /** May log in only from a loopback address (RabbitMQ's loopback_users, guest by default) */
  readonly loopbackOnly: boolean
}

export type AuthResult = { ok: true; user: User } | { ok: false; reason: string }

export class UserStore {
  private readonly users = new Map<string, User>()

  add(name: string, password: string, tags: readonly string[] = [], loopbackOnly = name === 'guest'): User {
    return this.addHashed(name, hashPassword(password), DEFAULT_HASHING, tags, loopbackOnly)
  }

  addHashed(
    name: string,
    passwordHash: string,
    hashingAlgorithm: HashingAlgorithm,
    tags: readonly string[],
    loopbackOnly = name === 'guest',
  ): User {
    const user: User = { name, passwordHash, hashingAlgorithm, tags: [...tags], loopbackOnly }
    this.users.set(name, user)
    return user
  }

  remove(name: string): boolean {
    return this.users.delete(name)
  }

  get(name: string): User | undefined {
    return this.users.get(name)
  }

  list(): User[] {
    return [...this.users.values()]
  }

  authenticate(name: string, password: string, fromLoopback: boolean): AuthResult {
    const user = this.users.get(name)
    if (!user || !checkPassword(user.passwordHash, user.hashingAlgorithm, password)) {
      return { ok: false, reason: `invalid credentials for user '${name}'` }
    }
    if (user.loopbackOnly && !fromLoopback) {
      return { ok: false, reason: `user '${name}' can only connect via localhost` }
    }
    return { ok: true, user }
  }
}
