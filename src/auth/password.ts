// RabbitMQ's password hashes: base64 of a 4-byte salt followed by HASH(salt ++ password), HASH being the
// user's hashing algorithm (SHA-256 by default). This is how `rabbitmqctl export_definitions` writes them,
// so users imported from RabbitMQ log in with their passwords.
// (Stub of the auth helper's module, with its signatures: the lead merges the real one.)
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export type HashingAlgorithm =
  'rabbit_password_hashing_sha256' | 'rabbit_password_hashing_sha512' | 'rabbit_password_hashing_md5'

export const DEFAULT_HASHING: HashingAlgorithm = 'rabbit_password_hashing_sha256'

const DIGESTS: Record<HashingAlgorithm, string> = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
}

export function isHashingAlgorithm(name: string): name is HashingAlgorithm {
  return Object.hasOwn(DIGESTS, name)
}

/** base64(salt ++ HASH(salt ++ password)) */
export function hashPassword(
  password: string,
  algorithm: HashingAlgorithm = DEFAULT_HASHING,
  salt: Buffer = randomBytes(4),
): string {
  const digest = createHash(DIGESTS[algorithm]).update(salt).update(password, 'utf8').digest()
  return Buffer.concat([salt, digest]).toString('base64')
}

export function checkPassword(passwordHash: string, algorithm: HashingAlgorithm, password: string): boolean {
  const stored = Buffer.from(passwordHash, 'base64')
  if (stored.length < 5) return false // an empty hash: the user has no password and cannot log in with one
  const expected = Buffer.from(hashPassword(password, algorithm, stored.subarray(0, 4)), 'base64')
  return expected.length === stored.length && timingSafeEqual(expected, stored)
}
