// SASL mechanisms offered in connection.start: PLAIN and RabbitMQ's AMQPLAIN, and on a TLS connection
// EXTERNAL, RabbitMQ's rabbitmq_auth_mechanism_ssl: the user named by the client's certificate, no password.
import { X509Certificate } from 'node:crypto'
import type { Duplex } from 'node:stream'
import { TLSSocket } from 'node:tls'
import type { AuthResult, UserStore } from '../auth/users.js'
import type { CertLoginFrom } from '../config/config.js'
import { fieldString } from '../protocol/field-value.js'
import { readTable } from '../protocol/field-table.js'
import { Reader } from '../protocol/reader.js'

export const MECHANISMS = 'PLAIN AMQPLAIN'

/**
 * The mechanisms offered to a client. Like rabbit_auth_mechanism_ssl's should_offer, EXTERNAL is offered on
 * every TLS connection, with or without a peer certificate: a client without one is then refused with "no
 * peer certificate" rather than failing to agree on a mechanism.
 */
export function offeredMechanisms(stream: Duplex): string[] {
  const mechanisms = MECHANISMS.split(' ')
  if (stream instanceof TLSSocket) mechanisms.push('EXTERNAL')
  return mechanisms
}

/** The user name EXTERNAL takes from the client certificate, or why there is none (RabbitMQ's texts). */
export function certificateLogin(
  stream: Duplex,
  from: CertLoginFrom,
): { ok: true; username: string } | { ok: false; reason: string } {
  if (!(stream instanceof TLSSocket)) return { ok: false, reason: 'not a TLS-enabled connection' }
  const raw = stream.getPeerCertificate().raw as Buffer | undefined
  if (!raw || raw.length === 0) {
    return { ok: false, reason: 'connection peer presented no TLS (x.509) certificate' }
  }
  // Only a verified certificate names anyone (with verify_peer, a bad one never gets this far)
  if (!stream.authorized) return { ok: false, reason: 'TLS configuration is unsafe' }
  const username = certificateName(new X509Certificate(raw), from)
  return username ? { ok: true, username } : { ok: false, reason: 'no name found' }
}

/**
 * EXTERNAL's login: the user must exist, and no password is checked (check_user_login(Username, [])). The
 * handshake applies loopback_users after it, as after a password login.
 */
export function externalLogin(users: UserStore, username: string): AuthResult {
  const user = users.get(username)
  if (!user) return { ok: false, reason: `user '${username}' - invalid credentials` }
  return { ok: true, user }
}

/**
 * The subject's distinguished name as RabbitMQ writes it (rabbit_cert_info:subject: RFC 4514 order, most
 * specific first, "CN=alice,O=Example,C=GB"), or its common name.
 */
export function certificateName(cert: X509Certificate, from: CertLoginFrom): string | undefined {
  // Node gives the subject one attribute per line, least specific first ("C=GB\nO=Example\nCN=alice"), with
  // values already escaped as RFC 4514 asks ("O=Acme\, Inc.")
  const attributes = cert.subject.split('\n').filter((line) => line !== '')
  if (from === 'common_name') {
    // The CN's value itself, unescaped
    const cn = attributes.find((line) => line.startsWith('CN='))
    return cn?.slice(3).replace(/\\(.)/g, '$1')
  }
  return attributes.length === 0 ? undefined : attributes.reverse().join(',')
}

export interface Credentials {
  username: string
  password: string
}

/** Parses a start-ok response; undefined when the mechanism is unknown or the response malformed. */
export function parseCredentials(mechanism: string, response: Buffer): Credentials | undefined {
  if (mechanism === 'PLAIN') {
    // authzid NUL authcid NUL passwd
    const parts = response.toString('utf8').split('\u0000')
    if (parts.length !== 3) return undefined
    return { username: parts[1]!, password: parts[2]! }
  }
  if (mechanism === 'AMQPLAIN') {
    // A field table without its length prefix, with LOGIN and PASSWORD
    try {
      const withLength = Buffer.alloc(response.length + 4)
      withLength.writeUInt32BE(response.length, 0)
      response.copy(withLength, 4)
      const table = readTable(new Reader(withLength))
      const username = fieldString(table['LOGIN'])
      const password = fieldString(table['PASSWORD'])
      if (username === undefined || password === undefined) return undefined
      return { username, password }
    } catch {
      return undefined
    }
  }
  return undefined
}
