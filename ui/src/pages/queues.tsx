// Queues of the selected vhost, paged, filtered and sorted by the server (RabbitMQ's ?page=&page_size=&
// name=&use_regex=&sort=&sort_reverse=, answered as {items, page, page_count, filtered_count, ...}), so a
// broker with 10,000 queues sends one page at a time, and only the columns shown. A form adds a queue.
import { useEffect, useState } from 'preact/hooks'
import { ApiError, enc, get, listPath, rateOf, request, type Paged, type Queue } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { Checkbox, useDefaultVhost, VhostField } from '../components/forms.js'
import { LoadState, PageHeading, Section } from '../components/page.js'
import { parseKeyValues } from '../components/publish-form.js'
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
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [name, setName] = useState('')
  const [type, setType] = useState('classic')
  const [durable, setDurable] = useState(true)
  const [autoDelete, setAutoDelete] = useState(false)
  const [args, setArgs] = useState('')
  const submit = async (e: Event) => {
    e.preventDefault()
    try {
      const argumentsTable = {
        ...parseKeyValues(args, 'Arguments'),
        ...(type === 'classic' ? {} : { 'x-queue-type': type }),
      }
      await request('PUT', `/api/queues/${enc(vhost)}/${enc(name)}`, {
        durable,
        auto_delete: autoDelete,
        arguments: argumentsTable,
      })
      announce(`Queue ${name} added.`)
      setName('')
      onAdded()
    } catch (err) {
      failed(`Could not add queue ${name}`, err)
    }
  }
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-label="Add a queue">
      <div class="row">
        <VhostField value={vhost} onChange={setVhost} />
        <label class="field grow">
          <span>Name</span>
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>Type</span>
          <select aria-label="Type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            <option value="classic">classic</option>
            <option value="quorum">quorum</option>
          </select>
        </label>
      </div>
      <div class="row">
        <Checkbox label="Durable" checked={durable} onChange={setDurable} />
        <Checkbox label="Auto-delete" checked={autoDelete} onChange={setAutoDelete} />
      </div>
      <label class="field">
        <span>Arguments</span>
        <textarea
          rows={2}
          value={args}
          placeholder={'x-message-ttl=60000\nx-dead-letter-exchange=dlx'}
          onInput={(e) => setArgs(e.currentTarget.value)}
        />
      </label>
      <div class="row end">
        <button type="submit" class="primary">
          Add queue
        </button>
      </div>
    </form>
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
            <Pager
              noun="queues"
              page={data.page}
              pageCount={data.page_count}
              pageSize={data.page_size}
              filtered={data.filtered_count}
              total={data.total_count}
              shown={data.item_count}
              onPage={setPage}
              onPageSize={(s) => {
                setPageSize(s)
                setPage(1)
              }}
            />
          </>
        )}
      </div>
      <Section title="Add a queue">
        <AddQueue onAdded={polled.reload} />
      </Section>
    </section>
  )
}
