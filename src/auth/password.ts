// Password hashes in RabbitMQ's format, so that a user exported from RabbitMQ (a definitions file's
// password_hash and hashing_algorithm) logs in to Warren unchanged: base64 of a 4-byte random salt followed
// by digest(salt ‖ UTF-8 password), the digest being SHA-256 (the default), SHA-512 or MD5 (rabbit_password).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export type HashingAlgorithm =
  'rabbit_password_hashing_sha256' | 'rabbit_password_hashing_sha512' | 'rabbit_password_hashing_md5'

export const DEFAULT_HASHING_ALGORITHM: HashingAlgorithm = 'rabbit_password_hashing_sha256'

const DIGESTS: Record<HashingAlgorithm, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
}

const SALT_BYTES = 4

export function isHashingAlgorithm(name: string): name is HashingAlgorithm {
  return Object.hasOwn(DIGESTS, name)
}

function saltedDigest(salt: Buffer, password: string, algorithm: HashingAlgorithm): Buffer {
  const digest = createHash(DIGESTS[algorithm]).update(salt).update(password, 'utf8').digest()
  return Buffer.concat([salt, digest])
}

/** RabbitMQ's password_hash of a password: base64(salt ‖ digest(salt ‖ password)), with a fresh salt. */
export function hashPassword(password: string, algorithm: HashingAlgorithm = DEFAULT_HASHING_ALGORITHM): string {
  return saltedDigest(randomBytes(SALT_BYTES), password, algorithm).toString('base64')
}

/**
 * Whether a password matches a password_hash, in time that depends on neither (only on the hash's length).
 * An empty hash (a user without password) matches nothing; so does a hash too short to hold a salt.
 */
export function passwordMatches(passwordHash: string, algorithm: HashingAlgorithm, password: string): boolean {
  const stored = Buffer.from(passwordHash, 'base64')
  // Computed even for a hash that cannot match, so that a refusal takes the same time whatever its reason
  const salt = stored.length > SALT_BYTES ? stored.subarray(0, SALT_BYTES) : Buffer.alloc(SALT_BYTES)
  const computed = saltedDigest(salt, password, algorithm)
  const comparable = stored.length === computed.length ? stored : computed
  const equal = timingSafeEqual(computed, comparable)
  return equal && comparable === stored
}
