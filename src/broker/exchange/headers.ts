// Routes on message headers instead of the routing key. A binding's arguments name the headers to match;
// x-match says whether all or any must match ('all'/'any' ignore x- headers, 'all-with-x'/'any-with-x'
// include them), and a void value matches any value of that header, as in RabbitMQ.
import {
  TypedValue,
  erlangFloat,
  fieldTypeName,
  isFloatValue,
  plain,
  sameFieldValue,
  type FieldTable,
  type FieldValue,
} from '../../protocol/field-value.js'
import type { Message } from '../message.js'
import { preconditionFailed } from '../../protocol/errors.js'
import { Exchange, type Binding, type Destination } from './exchange.js'

const X_MATCH_MODES = new Set(['all', 'any', 'all-with-x', 'any-with-x'])

interface Matcher {
  binding: Binding
  any: boolean
  keys: [string, FieldValue][]
}

export class HeadersExchange extends Exchange {
  readonly type = 'headers'
  private matchers: Matcher[] = []

  route(message: Message, _routingKey: string, out: Destination[]): void {
    const headers = message.headers
    for (const m of this.matchers) {
      if (matches(m, headers)) out.push(m.binding.destination)
    }
  }

  override validateBindingArguments(args: FieldTable): void {
    const mode = args['x-match']
    if (mode === undefined) return
    if (typeof mode !== 'string') {
      throw preconditionFailed(
        `Invalid x-match field type ${fieldTypeName(mode)} (value ${erlangTerm(mode)}); expected longstr`,
      )
    }
    if (!X_MATCH_MODES.has(mode)) {
      throw preconditionFailed(
        `Invalid x-match field value <<"${mode}">>; expected all, any, all-with-x, or any-with-x`,
      )
    }
  }

  protected addToIndex(binding: Binding): void {
    const mode = typeof binding.arguments['x-match'] === 'string' ? binding.arguments['x-match'] : 'all'
    const withX = mode.endsWith('-with-x')
    const keys = Object.entries(binding.arguments).filter(([k]) => k !== 'x-match' && (withX || !k.startsWith('x-')))
    this.matchers.push({ binding, any: mode.startsWith('any'), keys })
  }

  protected removeFromIndex(binding: Binding): void {
    this.matchers = this.matchers.filter((m) => m.binding !== binding)
  }
}

function matches(m: Matcher, headers: FieldTable | undefined): boolean {
  if (m.keys.length === 0) return !m.any
  for (const [key, expected] of m.keys) {
    const present = headers !== undefined && Object.hasOwn(headers, key)
    const ok = present && (expected === null || sameFieldValue(expected, headers[key]!))
    if (m.any && ok) return true
    if (!m.any && !ok) return false
  }
  return !m.any
}

/** JSON of nested tables and arrays, with 64-bit integers written as numbers instead of throwing. */
function stableJson(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value instanceof TypedValue ? value.value : value,
  )
}

/** A value as RabbitMQ prints it in error texts (an Erlang term): <<"all">>, 1, [..]. */
function erlangTerm(v: FieldValue): string {
  if (isFloatValue(v)) return erlangFloat(Number(plain(v)))
  const raw = plain(v)
  if (typeof raw === 'string') return `<<"${raw}">>`
  if (Buffer.isBuffer(raw)) return `<<"${raw.toString('utf8')}">>`
  if (raw === null) return 'undefined'
  if (typeof raw === 'object') return stableJson(raw)
  return String(raw)
}
