// Exchanges of the selected vhost: listed (sortable, filterable), each linking to its page; a form adds one.
import { useState } from 'preact/hooks'
import { get, listPath, rateOf, type Exchange, type Overview } from '../api.js'
import { DeclareForm } from '../components/declare-form.js'
import { Checkbox } from '../components/forms.js'
import { LoadState, PageHeading, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
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
  const [internal, setInternal] = useState(false)
  const types = usePoll(() => get<Overview>('/api/overview'), [], 0).data?.exchange_types.map((t) => t.name) ?? [
    'direct',
    'fanout',
    'headers',
    'topic',
  ]
  return (
    <DeclareForm
      noun="exchange"
      types={types}
      initialType="direct"
      argumentsExample="alternate-exchange=unrouted"
      body={(d) => ({ type: d.type, durable: d.durable, auto_delete: d.autoDelete, internal, arguments: d.arguments })}
      onAdded={onAdded}
    >
      <Checkbox label="Internal" checked={internal} onChange={setInternal} />
    </DeclareForm>
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
