// Structured JSON logs with levels (pino): one line per event, fields instead of prose.
import { pino, type Logger as PinoLogger } from 'pino'

export type Logger = PinoLogger

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'warren' } })
}
