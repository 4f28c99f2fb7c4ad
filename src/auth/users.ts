// Users and their credentials. Passwords are kept as RabbitMQ keeps them (password.ts), never in clear,
// and never logged. A login refusal says nothing of why: an unknown user and a wrong password look the
// same to the client, in time too (an unknown user's password is checked against a dummy user's hash).
import { DEFAULT_HASHING_ALGORITHM, hashPassword, passwordMatches, type HashingAlgorithm } from './password.js'

/** RabbitMQ's user tags; any other string is kept (and means nothing to Warren), as RabbitMQ does. */
export type UserTag = 'administrator' | 'monitoring' | 'policymaker' | 'management' | 'impersonator' | 'none'

export interface User {
  readonly name: string
  /** RabbitMQ's password_hash (base64); '' means no password: a password login is impossible */
  readonly passwordHash: string
  readonly hashingAlgorithm: HashingAlgorithm
  readonly tags: readonly string[]
}

export type AuthResult = { ok: true; user: User } | { ok: false; reason: string }

/** Checked against when the user is unknown, so that its refusal costs what a wrong password costs. */
const DUMMY_USER: User = {
  name: '',
  passwordHash: hashPassword('not a password'),
  hashingAlgorithm: DEFAULT_HASHING_ALGORITHM,
  tags: [],
}

export class UserStore {
  private readonly users = new Map<string, User>()

  /** Adds or replaces a user, the password hashed with SHA-256 (RabbitMQ's default). */
  add(name: string, password: string, tags: string[] = []): User {
    return this.addHashed(name, hashPassword(password), DEFAULT_HASHING_ALGORITHM, tags)
  }

  /** Adds or replaces a user whose password is already hashed (a RabbitMQ definitions export's user). */
  addHashed(name: string, passwordHash: string, algorithm: HashingAlgorithm, tags: string[]): User {
    const user: User = { name, passwordHash, hashingAlgorithm: algorithm, tags: [...tags] }
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

  /** A password login (PLAIN, AMQPLAIN). Where the client may log in from is the handshake's check. */
  authenticate(name: string, password: string): AuthResult {
    const user = this.users.get(name)
    const checked = user ?? DUMMY_USER
    const matches = passwordMatches(checked.passwordHash, checked.hashingAlgorithm, password)
    if (!user) return { ok: false, reason: `user '${name}' - invalid credentials` }
    // RabbitMQ's internal backend refuses a blank password whatever the hash says
    if (password === '') return { ok: false, reason: `user '${name}' attempted to log in with a blank password` }
    if (user.passwordHash === '' || !matches) return { ok: false, reason: `user '${name}' - invalid credentials` }
    return { ok: true, user }
  }
}

export function hasTag(user: User, tag: UserTag): boolean {
  return user.tags.includes(tag)
}
