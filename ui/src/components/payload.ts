// A message body three ways: as UTF-8 text, as JSON pretty-printed (text when it is not JSON), and as a
// hex dump (offset, 16 bytes, their printable characters), so binary bodies are readable too.
import type { MessageItem } from '../api.js'

export type PayloadView = 'text' | 'json' | 'hex'

export const PAYLOAD_VIEWS: [PayloadView, string][] = [
  ['text', 'Text'],
  ['json', 'JSON'],
  ['hex', 'Hex'],
]

export function payloadBytes(m: MessageItem): Uint8Array {
  if (m.payload_encoding === 'string') return new TextEncoder().encode(m.payload)
  const binary = atob(m.payload)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

export function asText(bytes: Uint8Array): { text: string; note?: string } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) }
  } catch {
    return {
      text: new TextDecoder('utf-8').decode(bytes),
      note: 'Not valid UTF-8: undecodable bytes are shown as �. The hex view shows them all.',
    }
  }
}

export function asJson(bytes: Uint8Array): { text: string; note?: string } {
  const { text, note } = asText(bytes)
  if (note) return { text, note }
  try {
    return { text: JSON.stringify(JSON.parse(text) as unknown, null, 2) }
  } catch {
    return { text, note: 'Not JSON: shown as text.' }
  }
}

export function hexDump(bytes: Uint8Array): string {
  const lines: string[] = []
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16)
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'))
    const left = hex.slice(0, 8).join(' ')
    const right = hex.slice(8).join(' ')
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('')
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`)
  }
  return lines.join('\n')
}

export function renderPayload(bytes: Uint8Array, view: PayloadView): { text: string; note?: string } {
  if (view === 'hex') return { text: bytes.length === 0 ? '(empty)' : hexDump(bytes) }
  if (view === 'json') return asJson(bytes)
  return asText(bytes)
}
