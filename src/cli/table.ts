// What list commands print: the chosen columns of each row, as an aligned table (a header line, then one
// line a row) or as JSON (an array of objects keyed by the column names).
import { CliError, EXIT } from './client.js'

export type Row = Record<string, unknown>

/** A column warrenctl computes from the API's row: rabbitmqctl names that the API spells differently */
export type ColumnAliases = Record<string, (row: Row) => unknown>

export type Format = 'table' | 'json'

/**
 * The value of a column: an alias if the command has one, else the API's field of that name ('a.b' looks
 * into nested objects, as channel_details.name).
 */
export function columnValue(row: Row, column: string, aliases: ColumnAliases): unknown {
  const alias = aliases[column]
  if (alias) return alias(row)
  let value: unknown = row
  for (const part of column.split('.')) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Row)[part]
  }
  return value
}

/**
 * Refuses a column neither an alias nor a field of the rows: a typing mistake should not print an empty
 * column. With no rows, only the aliases and the defaults are known, so any name passes.
 */
export function checkColumns(columns: string[], rows: Row[], aliases: ColumnAliases): void {
  if (rows.length === 0) return
  const known = new Set([...Object.keys(aliases), ...rows.flatMap((r) => Object.keys(r))])
  const unknown = columns.filter((c) => !known.has(c.split('.')[0]!))
  if (unknown.length > 0) {
    const list = [...known].sort().join(', ')
    throw new CliError(
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${list})`,
      EXIT.usage,
    )
  }
}

/** A value in a table cell: strings as they are, lists as [a, b], objects as JSON, nothing as empty */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  // A list of plain values as rabbitmqctl prints tags: [administrator, monitoring]
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) {
    return `[${value.map(cellText).join(', ')}]`
  }
  return JSON.stringify(value)
}

export function renderRows(rows: Row[], columns: string[], aliases: ColumnAliases, format: Format): string {
  const picked = rows.map((row) => columns.map((c) => columnValue(row, c, aliases)))
  if (format === 'json') {
    const objects = picked.map((values) => Object.fromEntries(columns.map((c, i) => [c, values[i] ?? null])))
    return JSON.stringify(objects, null, 2) + '\n'
  }
  const cells = [columns, ...picked.map((values) => values.map(cellText))]
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)))
  return cells
    .map((line) =>
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => line + '\n')
    .join('')
}

/** Key-value lines (status): 'key: value', nested objects flattened as 'a.b' */
export function renderPairs(pairs: [string, unknown][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length))
  return pairs.map(([k, v]) => `${(k + ':').padEnd(width + 1)} ${cellText(v)}\n`).join('')
}
