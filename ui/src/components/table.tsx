// Tables: column headers that sort are buttons inside <th aria-sort>, so they work from the keyboard and
// screen readers announce the order; a filter with a label; paging controls in a labelled <nav>. The same
// controls serve lists paged by the server (queues: RabbitMQ's ?page= parameters) and lists small enough
// to page in the browser (ClientTable).
import type { ComponentChildren } from 'preact'
import { useMemo, useState } from 'preact/hooks'
import { count } from '../format.js'
import { SelectField } from './forms.js'

export interface Column<T> {
  key: string
  label: string
  render?: (row: T) => ComponentChildren
  /** The value sorted and, without render, shown */
  value?: (row: T) => string | number | boolean | undefined
  numeric?: boolean
  /** false: not sortable */
  sortable?: boolean
}

export interface Sort {
  key: string
  reverse: boolean
}

interface TableProps<T> {
  caption: string
  columns: Column<T>[]
  rows: T[]
  rowKey: (row: T) => string
  sort?: Sort
  onSort?: (sort: Sort) => void
  empty?: string
}

const valueOf = <T,>(c: Column<T>, row: T): unknown =>
  c.value ? c.value(row) : (row as Record<string, unknown>)[c.key]

export function DataTable<T>({ caption, columns, rows, rowKey, sort, onSort, empty }: TableProps<T>) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => {
              const sorted = sort?.key === c.key
              const ariaSort = sorted ? (sort.reverse ? 'descending' : 'ascending') : undefined
              return (
                <th key={c.key} scope="col" class={c.numeric ? 'num' : undefined} aria-sort={ariaSort}>
                  {onSort && c.sortable !== false ? (
                    <button
                      type="button"
                      class="sort"
                      onClick={() => onSort({ key: c.key, reverse: sorted ? !sort.reverse : false })}
                    >
                      {c.label}
                      <span aria-hidden="true" class="sort-mark">
                        {sorted ? (sort.reverse ? '▼' : '▲') : '↕'}
                      </span>
                    </button>
                  ) : (
                    c.label
                  )}
                </th>
              )
            })}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} class="empty">
                {empty ?? 'Nothing here.'}
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((c) => (
                  <td key={c.key} class={c.numeric ? 'num' : undefined}>
                    {c.render ? c.render(row) : display(valueOf(c, row))}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  )
}

function display(v: unknown): ComponentChildren {
  if (v === undefined || v === null) return ''
  if (typeof v === 'number') return count(v)
  if (typeof v === 'boolean') return v ? 'yes' : 'no'
  return String(v)
}

export const PAGE_SIZES = [20, 50, 100, 200, 500]

interface FilterProps {
  noun: string
  value: string
  onChange: (value: string) => void
  regex?: boolean
  onRegex?: (regex: boolean) => void
}

export function FilterBox({ noun, value, onChange, regex, onRegex }: FilterProps) {
  return (
    <div class="filter" role="search">
      <label class="inline">
        <span>Filter {noun} by name</span>
        <input type="search" value={value} onInput={(e) => onChange(e.currentTarget.value)} />
      </label>
      {onRegex && (
        <label class="inline check">
          <input type="checkbox" checked={regex} onChange={(e) => onRegex(e.currentTarget.checked)} />
          <span>Regular expression</span>
        </label>
      )}
    </div>
  )
}

interface PagerProps {
  noun: string
  page: number
  pageCount: number
  pageSize: number
  filtered: number
  total: number
  shown: number
  onPage: (page: number) => void
  onPageSize: (size: number) => void
  /** A list with a pager above and below it: each is named for its place, and only the top one is live */
  where?: 'top' | 'bottom'
}

export function Pager({
  noun,
  page,
  pageCount,
  pageSize,
  filtered,
  total,
  shown,
  onPage,
  onPageSize,
  where,
}: PagerProps) {
  const first = filtered === 0 ? 0 : (page - 1) * pageSize + 1
  const last = first === 0 ? 0 : first + shown - 1
  const pages = Math.max(pageCount, 1)
  return (
    <nav class="pager" aria-label={`Pages of ${noun}${where ? `, ${where}` : ''}`}>
      <span class="range" aria-live={where === 'bottom' ? undefined : 'polite'}>
        {count(first)}–{count(last)} of {count(filtered)} {noun}
        {filtered !== total ? ` (filtered from ${count(total)})` : ''}
      </span>
      <button type="button" onClick={() => onPage(1)} disabled={page <= 1} aria-label="First page">
        «
      </button>
      <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 1} aria-label="Previous page">
        ‹ Previous
      </button>
      <span>
        Page {count(page)} of {count(pages)}
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages} aria-label="Next page">
        Next ›
      </button>
      <button type="button" onClick={() => onPage(pages)} disabled={page >= pages} aria-label="Last page">
        »
      </button>
      <SelectField
        inline
        label="Per page"
        value={String(pageSize)}
        onChange={(size) => onPageSize(Number(size))}
        options={PAGE_SIZES.map(String)}
      />
    </nav>
  )
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0
  if (a === undefined || a === null) return -1
  if (b === undefined || b === null) return 1
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a).localeCompare(String(b))
}

interface ClientTableProps<T> extends Omit<TableProps<T>, 'sort' | 'onSort'> {
  noun: string
  /** The text the filter matches (case-insensitive); none: no filter box */
  filterText?: (row: T) => string
  defaultSort?: Sort
}

/** A table of a list the browser holds whole: sorted, filtered and paged here */
export function ClientTable<T>({ noun, filterText, defaultSort, ...table }: ClientTableProps<T>) {
  const [sort, setSort] = useState<Sort | undefined>(defaultSort)
  const [filter, setFilter] = useState('')
  const [page, setPage] = useState(1)
  const [pageSize, setPageSize] = useState(50)
  const filtered = useMemo(() => {
    const f = filter.toLowerCase()
    let rows = filterText && f !== '' ? table.rows.filter((r) => filterText(r).toLowerCase().includes(f)) : table.rows
    const column = sort && table.columns.find((c) => c.key === sort.key)
    if (sort && column) {
      rows = [...rows].sort((a, b) => compare(valueOf(column, a), valueOf(column, b)) * (sort.reverse ? -1 : 1))
    }
    return rows
  }, [table.rows, table.columns, filter, sort, filterText])
  const pageCount = Math.max(1, Math.ceil(filtered.length / pageSize))
  const current = Math.min(page, pageCount)
  const rows = filtered.slice((current - 1) * pageSize, current * pageSize)
  return (
    <div class="list">
      {filterText && (
        <FilterBox
          noun={noun}
          value={filter}
          onChange={(v) => {
            setFilter(v)
            setPage(1)
          }}
        />
      )}
      <DataTable {...table} rows={rows} sort={sort} onSort={setSort} />
      {filtered.length > PAGE_SIZES[0]! && (
        <Pager
          noun={noun}
          page={current}
          pageCount={pageCount}
          pageSize={pageSize}
          filtered={filtered.length}
          total={table.rows.length}
          shown={rows.length}
          onPage={setPage}
          onPageSize={(s) => {
            setPageSize(s)
            setPage(1)
          }}
        />
      )}
    </div>
  )
}
