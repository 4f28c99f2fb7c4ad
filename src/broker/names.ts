// Names the server makes up: queues declared with an empty name, consumer tags, reply addresses.
import { randomBytes } from 'node:crypto'

/** RabbitMQ's server-generated names: a prefix and 16 random bytes in URL-safe base64. */
export function generateName(prefix: string): string {
  return prefix + randomBytes(16).toString('base64url')
}
