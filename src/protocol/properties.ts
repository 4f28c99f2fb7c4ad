// Encoding message properties on their own, for the rare message whose properties the broker changes
// (BCC removed, dead-letter headers added); others are forwarded as the publisher encoded them.
import { encodeBasicProperties, type BasicProperties } from './generated/properties.js'
import { Writer } from './writer.js'

export function encodeProperties(p: BasicProperties): Buffer {
  const w = new Writer(256, true)
  encodeBasicProperties(w, p)
  return Buffer.from(w.view())
}
