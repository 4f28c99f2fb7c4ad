// rabbitmq.conf's syntax (Cuttlefish's sysctl-like format): one `key = value` a line, `#` comments, keys
// made of dot-separated words. Values stay text here; the settings table says what each key means.
import { readFileSync } from 'node:fs'
import { SettingError } from './units.js'

export interface ConfEntry {
  key: string
  value: string
  /** file:line, for messages */
  where: string
}

/** The entries of a config file by key; a key given twice keeps its last value, as Cuttlefish does. */
export type ConfEntries = ReadonlyMap<string, ConfEntry>

const LINE = /^([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$@-]+)*)\s*=\s*(.*)$/

export function parseConfText(text: string, file: string): ConfEntries {
  const entries = new Map<string, ConfEntry>()
  text.split(/\r?\n/).forEach((raw, index) => {
    const where = `${file}:${index + 1}`
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const match = LINE.exec(line)
    if (!match) throw new SettingError(`${where}: expected 'key = value', got '${line}'`)
    // A comment may follow the value after a space; a '#' inside a value (a password) stays
    const value = match[2]!.replace(/\s+#.*$/, '').trim()
    if (value === '') throw new SettingError(`${where}: '${match[1]}' has no value`)
    entries.set(match[1]!, { key: match[1]!, value, where })
  })
  return entries
}

export function readConfFile(path: string): ConfEntries {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const reason = err instanceof Error && 'code' in err ? String(err.code) : String(err)
    throw new SettingError(`cannot read the config file ${path}: ${reason}`)
  }
  return parseConfText(text, path)
}
