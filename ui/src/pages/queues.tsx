// Queues of the selected vhost, paged, filtered and sorted by the server (RabbitMQ's ?page=&page_size=&
// name=&use_regex=&sort=&sort_reverse=, answered as {items, page, page_count, filtered_count, ...}), so a
// broker with 10,000 queues sends one page at a time, and only the columns shown. A form adds a queue.
import { useEffect, useState } from 'preact/hooks'
import { ApiError, get, listPath, rateOf, type Paged, type Queue } from '../api.js'
import { DeclareForm } from '../components/declare-form.js'
import { LoadState, PageHeading, Section } from '../components/page.js'
import { DataTable, FilterBox, Pager, type Column, type Sort } from '../components/table.js'
import { count, rate } from '../format.js'
import { usePoll } from '../poll.js'
import { href } from '../router.js'
import { useSettings } from '../settings.js'

const COLUMNS = [
  'name',
  'vhost',
  'type',
  'state',
  'durable',
  'auto_delete',
  'exclusive',
  'policy',
  'consumers',
  'messages',
  'messages_ready',
  'messages_unacknowledged',
  'message_stats.publish_details',
  'message_stats.deliver_get_details',
  'message_stats.ack_details',
].join(',')

export function features(q: Queue): string {
  return [q.durable ? 'D' : '', q.auto_delete ? 'AD' : '', q.exclusive ? 'Excl' : ''].filter((s) => s !== '').join(' ')
}

function AddQueue({ onAdded }: { onAdded: () => void }) {
  return (
    <DeclareForm
      noun="queue"
      types={['classic', 'quorum']}
      initialType="classic"
      argumentsExample={'x-message-ttl=60000\nx-dead-letter-exchange=dlx'}
      body={(d) => ({
        durable: d.durable,
        auto_delete: d.autoDelete,
        arguments: { ...d.arguments, ...(d.type === 'classic' ? {} : { 'x-queue-type': d.type }) },
      })}
      onAdded={onAdded}
    />
  )
}

export function Queues() {
  const { vhost } = useSettings()
  const [filter, setFilter] = useState('')
  const [appliedFilter, setAppliedFilter] = useState('')
  const [regex, setRegex] = useState(false)
  const [page, setPage] = useState(1)
  const [pageSize, setPageSize] = useState(100)
  const [sort, setSort] = useState<Sort>({ key: 'name', reverse: false })

  // The filter is sent once typing pauses, not on every key
  useEffect(() => {
    if (filter === appliedFilter) return undefined
    const timer = setTimeout(() => {
      setAppliedFilter(filter)
      setPage(1)
    }, 250)
    return () => clearTimeout(timer)
  }, [filter, appliedFilter])

  const sortColumn = (key: string): string =>
    key.startsWith('rate_') ? `message_stats.${key.slice(5)}_details.rate` : key
  const query = new URLSearchParams({
    page: String(page),
    page_size: String(pageSize),
    name: appliedFilter,
    use_regex: String(regex),
    sort: sortColumn(sort.key),
    sort_reverse: String(sort.reverse),
    columns: COLUMNS,
  })
  const polled = usePoll(
    () => get<Paged<Queue>>(`${listPath('queues', vhost)}?${query.toString()}`),
    [vhost, query.toString()],
  )
  const error = polled.error
  useEffect(() => {
    // The list shrank under the page shown (queues deleted, or a new filter): back to the first page
    if (error instanceof ApiError && error.error === 'page_out_of_range' && page !== 1) setPage(1)
  }, [error, page])

  const data = polled.data
  // The pagers above and below the table: the same but for their place
  const pagerOf = (d: Paged<Queue>) => ({
    noun: 'queues',
    page: d.page,
    pageCount: d.page_count,
    pageSize: d.page_size,
    filtered: d.filtered_count,
    total: d.total_count,
    shown: d.item_count,
    onPage: setPage,
    onPageSize: (s: number) => {
      setPageSize(s)
      setPage(1)
    },
  })
  const rateColumn = (key: string, label: string): Column<Queue> => ({
    key: `rate_${key}`,
    label,
    numeric: true,
    render: (q) => rate(rateOf(q.message_stats, key)),
  })
  const columns: Column<Queue>[] = [
    {
      key: 'name',
      label: 'Name',
      render: (q) => <a href={href('queues', q.vhost, q.name)}>{q.name}</a>,
    },
    ...(vhost === '' ? [{ key: 'vhost', label: 'Virtual host' }] : []),
    { key: 'type', label: 'Type' },
    { key: 'features', label: 'Features', sortable: false, value: features },
    { key: 'policy', label: 'Policy' },
    { key: 'consumers', label: 'Consumers', numeric: true },
    { key: 'messages_ready', label: 'Ready', numeric: true },
    { key: 'messages_unacknowledged', label: 'Unacked', numeric: true },
    { key: 'messages', label: 'Total', numeric: true },
    rateColumn('publish', 'Incoming'),
    rateColumn('deliver_get', 'Deliver / get'),
    rateColumn('ack', 'Ack'),
  ]
  return (
    <section>
      <PageHeading title="Queues">{data && <span class="muted">{count(data.total_count)} in all</span>}</PageHeading>
      <div class="list">
        <FilterBox
          noun="queues"
          value={filter}
          onChange={setFilter}
          regex={regex}
          onRegex={(r) => {
            setRegex(r)
            setPage(1)
          }}
        />
        <LoadState
          loading={polled.loading && !data}
          error={error instanceof ApiError && error.error === 'page_out_of_range' ? undefined : error}
        />
        {data && (
          <>
            <Pager where="top" {...pagerOf(data)} />
            <DataTable
              caption="Queues"
              columns={columns}
              rows={data.items}
              rowKey={(q) => `${q.vhost}\u0000${q.name}`}
              sort={sort}
              onSort={(s) => {
                setSort(s)
                setPage(1)
              }}
              empty={data.total_count === 0 ? 'No queues yet.' : 'No queue matches the filter.'}
            />
            <Pager where="bottom" {...pagerOf(data)} />
          </>
        )}
      </div>
      <Section title="Add a queue">
        <AddQueue onAdded={polled.reload} />
      </Section>
    </section>
  )
}
