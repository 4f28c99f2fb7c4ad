// Structured logs with levels (pino): one line per event, fields instead of prose. Two forms on stdout:
// - json (the default): {"level":"info","time":"2026-11-29T10:38:36.123Z","service":"warren","msg":...},
//   level names and ISO times so that a log shipper (journald, Loki, Elasticsearch) needs no mapping;
// - text, for a person at a terminal: `2026-11-29T10:38:36.123Z INFO  msg key=value ...`, made from the same
//   JSON line by a small formatter in process (no transport thread, no pino-pretty dependency).
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino'

export type Logger = PinoLogger

/** Config's LogFormat (src/config/config.ts) */
export type LogFormat = 'json' | 'text'

export function createLogger(
  level: string,
  format: LogFormat = 'json',
  out: DestinationStream = process.stdout,
): Logger {
  const options = {
    level,
    base: { service: 'warren' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  if (format === 'text') return pino(options, { write: (line: string) => out.write(textLine(line)) })
  // The JSON form goes to stdout through pino's own (synchronous) destination, as before
  return out === process.stdout ? pino(options) : pino(options, out)
}

/** Fields every line has, shown in the text form's prefix rather than as key=value */
const PREFIX_FIELDS = new Set(['level', 'time', 'service', 'msg', 'pid', 'hostname'])

/** One JSON log line (pino's output, newline-terminated) as `TIME LEVEL msg key=value ...\n`. */
export function textLine(json: string): string {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json
  }
  const level = typeof record['level'] === 'string' ? record['level'].toUpperCase() : String(record['level'])
  const fields = Object.entries(record)
    .filter(([key]) => !PREFIX_FIELDS.has(key))
    .map(([key, value]) => `${key}=${fieldValue(value)}`)
  const parts = [String(record['time'] ?? ''), level.padEnd(5), String(record['msg'] ?? ''), ...fields]
  return `${parts.join(' ')}\n`
}

/** Plain words as they are; anything with spaces, quotes or structure as JSON, so that a line reads back unambiguously */
function fieldValue(value: unknown): string {
  if (typeof value === 'string' && /^[^\s"=]+$/.test(value)) return value
  return JSON.stringify(value) ?? String(value)
}
