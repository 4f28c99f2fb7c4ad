// Exchanges of the selected vhost: listed (sortable, filterable), each linking to its page; a form adds one.
import { useState } from 'preact/hooks'
import { enc, get, listPath, rateOf, request, type Exchange, type Overview } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { Checkbox, useDefaultVhost, VhostField } from '../components/forms.js'
import { LoadState, PageHeading, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { parseKeyValues } from '../components/publish-form.js'
import { keyValues, rate } from '../format.js'
import { usePoll } from '../poll.js'
import { href } from '../router.js'
import { useSettings } from '../settings.js'

export const exchangeLabel = (name: string): string => (name === '' ? '(AMQP default)' : name)

function features(e: Exchange): string {
  return [e.durable ? 'durable' : '', e.auto_delete ? 'auto-delete' : '', e.internal ? 'internal' : '']
    .filter((s) => s !== '')
    .join(', ')
}

function AddExchange({ onAdded }: { onAdded: () => void }) {
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [name, setName] = useState('')
  const [type, setType] = useState('direct')
  const [durable, setDurable] = useState(true)
  const [autoDelete, setAutoDelete] = useState(false)
  const [internal, setInternal] = useState(false)
  const [args, setArgs] = useState('')
  const types = usePoll(() => get<Overview>('/api/overview'), [], 0).data?.exchange_types.map((t) => t.name) ?? [
    'direct',
    'fanout',
    'headers',
    'topic',
  ]
  const submit = async (e: Event) => {
    e.preventDefault()
    try {
      await request('PUT', `/api/exchanges/${enc(vhost)}/${enc(name)}`, {
        type,
        durable,
        auto_delete: autoDelete,
        internal,
        arguments: parseKeyValues(args, 'Arguments'),
      })
      announce(`Exchange ${name} added.`)
      setName('')
      onAdded()
    } catch (err) {
      failed(`Could not add exchange ${name}`, err)
    }
  }
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-label="Add an exchange">
      <div class="row">
        <VhostField value={vhost} onChange={setVhost} />
        <label class="field grow">
          <span>Name</span>
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="field">
          <span>Type</span>
          <select aria-label="Type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div class="row">
        <Checkbox label="Durable" checked={durable} onChange={setDurable} />
        <Checkbox label="Auto-delete" checked={autoDelete} onChange={setAutoDelete} />
        <Checkbox label="Internal" checked={internal} onChange={setInternal} />
      </div>
      <label class="field">
        <span>Arguments</span>
        <textarea
          rows={2}
          value={args}
          placeholder="alternate-exchange=unrouted"
          onInput={(e) => setArgs(e.currentTarget.value)}
        />
      </label>
      <div class="row end">
        <button type="submit" class="primary">
          Add exchange
        </button>
      </div>
    </form>
  )
}

export function Exchanges() {
  const { vhost } = useSettings()
  const polled = usePoll(() => get<Exchange[]>(listPath('exchanges', vhost)), [vhost])
  const columns: Column<Exchange>[] = [
    {
      key: 'name',
      label: 'Name',
      render: (e) => (
        <a href={href('exchanges', e.vhost, e.name === '' ? 'amq.default' : e.name)}>{exchangeLabel(e.name)}</a>
      ),
    },
    ...(vhost === '' ? [{ key: 'vhost', label: 'Virtual host' }] : []),
    { key: 'type', label: 'Type' },
    { key: 'features', label: 'Features', value: features },
    { key: 'arguments', label: 'Arguments', value: (e) => keyValues(e.arguments) },
    {
      key: 'rate_in',
      label: 'Rate in',
      numeric: true,
      value: (e) => rateOf(e.message_stats, 'publish_in'),
      render: (e) => rate(rateOf(e.message_stats, 'publish_in')),
    },
    {
      key: 'rate_out',
      label: 'Rate out',
      numeric: true,
      value: (e) => rateOf(e.message_stats, 'publish_out'),
      render: (e) => rate(rateOf(e.message_stats, 'publish_out')),
    },
  ]
  return (
    <section>
      <PageHeading title="Exchanges" />
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {polled.data && (
        <ClientTable
          caption="Exchanges"
          noun="exchanges"
          columns={columns}
          rows={polled.data}
          rowKey={(e) => `${e.vhost}\u0000${e.name}`}
          filterText={(e) => exchangeLabel(e.name)}
          defaultSort={{ key: 'name', reverse: false }}
        />
      )}
      <Section title="Add an exchange">
        <AddExchange
          onAdded={() => {
            polled.reload()
          }}
        />
      </Section>
    </section>
  )
}
