// SASL mechanisms offered in connection.start: PLAIN and RabbitMQ's AMQPLAIN.
import { fieldString } from '../protocol/field-value.js'
import { readTable } from '../protocol/field-table.js'
import { Reader } from '../protocol/reader.js'

export const MECHANISMS = 'PLAIN AMQPLAIN'

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
