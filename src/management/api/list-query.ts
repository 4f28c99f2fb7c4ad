// The query parameters every list endpoint takes, as rabbit_mgmt_util applies them (one implementation for
// all lists, checked against 3.10.8 with curl): `name` (a case-insensitive substring, or with use_regex=true
// a case-insensitive regex, on the item's name; applied only with `page`, as RabbitMQ does), `sort` (a column, dotted for nested ones: message_stats.publish) and `sort_reverse`,
// `columns` (a comma list of the columns to keep), and `page` / `page_size` (default 100, at most 500),
// which turn the answer into RabbitMQ's paged object.
import type { Json } from './format.js'
import { HttpError, badRequest, ok, type Reply } from './http.js'

const DEFAULT_PAGE_SIZE = 100
const MAX_PAGE_SIZE = 500

type Item = { [key: string]: Json }

function columnOf(item: Json, path: string[]): Json | undefined {
  let v: Json | undefined = item
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
    v = v[key]
  }
  return v
}

/** RabbitMQ orders missing values first, numbers before strings (Erlang's term order), strings bytewise */
function compareJson(a: Json | undefined, b: Json | undefined): number {
  const rank = (v: Json | undefined): number =>
    v === undefined || v === null
      ? 0
      : typeof v === 'number'
        ? 1
        : typeof v === 'boolean'
          ? 2
          : typeof v === 'string'
            ? 3
            : 4
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  if (typeof a === 'number' && typeof b === 'number') return a - b
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b)
  return 0
}

/** page and page_size, refused as RabbitMQ 3.10.8 refuses them (checked with curl) */
function pagination(query: URLSearchParams): { page: number; pageSize: number } {
  const rawPage = query.get('page') ?? ''
  const rawSize = query.get('page_size')
  const page = /^\d+$/.test(rawPage) ? Number(rawPage) : NaN
  const pageSize = rawSize === null ? DEFAULT_PAGE_SIZE : /^\d+$/.test(rawSize) ? Number(rawSize) : NaN
  if (!(page >= 1) || !(pageSize >= 1) || pageSize > MAX_PAGE_SIZE) {
    throw new HttpError(
      400,
      'invalid_pagination_parameters',
      `Invalid pagination parameters: page number ${rawPage}, page size ${rawSize ?? 'undefined'}`,
    )
  }
  return { page, pageSize }
}

function nameFilter(query: URLSearchParams): RegExp | undefined {
  const name = query.get('name')
  if (name === null || name === '') return undefined
  if (query.get('use_regex') === 'true') {
    try {
      return new RegExp(name, 'i')
    } catch {
      throw badRequest('Pagination parameters are invalid')
    }
  }
  return new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i')
}

function keepColumns(item: Item, columns: string[][]): Item {
  const out: Item = {}
  for (const path of columns) {
    const value = columnOf(item, path)
    if (value === undefined) continue
    // a nested column keeps its nesting: columns=message_stats.publish gives {message_stats: {publish}}
    let into = out
    for (const key of path.slice(0, -1)) {
      const next = into[key]
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) into[key] = {}
      into = into[key] as Item
    }
    into[path[path.length - 1]!] = value
  }
  return out
}

/** A list endpoint's answer: the items filtered, sorted, paged and cut to columns as the query asks */
export function listReply(items: Json[], query: URLSearchParams): Reply {
  return ok(applyListQuery(items, query))
}

export function applyListQuery(items: Json[], query: URLSearchParams): Json {
  const total = items.length
  let list = items
  // RabbitMQ 3.10.8 filters by name only in a paged request (checked: ?name=x alone lists everything)
  const paged = query.get('page') !== null
  const filter = paged ? nameFilter(query) : undefined
  if (filter)
    list = list.filter((i) => {
      const n = columnOf(i, ['name'])
      return typeof n === 'string' && filter.test(n)
    })
  const sort = query.get('sort')
  const reverse = query.get('sort_reverse') === 'true'
  if (sort !== null && sort !== '') {
    const path = sort.split('.')
    list = [...list].sort((a, b) => compareJson(columnOf(a, path), columnOf(b, path)))
  }
  if (reverse) list = [...list].reverse()
  const filtered = list.length
  const columnsRaw = query.get('columns')
  const columns =
    columnsRaw === null || columnsRaw === '' ? undefined : columnsRaw.split(',').map((c) => c.trim().split('.'))
  const cut = (page: Json[]): Json[] => (columns ? page.map((i) => keepColumns(i as Item, columns)) : page)
  if (!paged) return cut(list)
  const { page, pageSize } = pagination(query)
  const pageCount = Math.ceil(filtered / pageSize)
  if (page > Math.max(pageCount, 1)) {
    throw new HttpError(
      400,
      'page_out_of_range',
      `Page out of range, page: ${page} page size: ${pageSize}, len: ${filtered}`,
    )
  }
  const pageItems = cut(list.slice((page - 1) * pageSize, page * pageSize))
  return {
    filtered_count: filtered,
    item_count: pageItems.length,
    items: pageItems,
    page,
    page_count: pageCount,
    page_size: pageSize,
    total_count: total,
  }
}
