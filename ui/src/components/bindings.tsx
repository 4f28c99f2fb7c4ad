// Bindings of an exchange or a queue, each removable, and a form to add one: on an exchange page from
// this exchange to a queue or exchange; on a queue page from an exchange to this queue.
import { useState } from 'preact/hooks'
import { enc, request, type Binding } from '../api.js'
import { keyValues } from '../format.js'
import { attempt, confirmedAttempt } from './actions.js'
import { announce } from './announcer.js'
import { SelectField, TextAreaField, TextField } from './forms.js'
import { parseKeyValues } from './publish-form.js'
import { DataTable, type Column } from './table.js'

const DESTINATION_TYPES = [
  ['q', 'Queue'],
  ['e', 'Exchange'],
] as const

const bindingPath = (b: Binding): string =>
  `/api/bindings/${enc(b.vhost)}/e/${enc(b.source)}/${b.destination_type === 'queue' ? 'q' : 'e'}/${enc(b.destination)}/${enc(b.properties_key)}`

export function BindingsTable({
  caption,
  bindings,
  onChange,
}: {
  caption: string
  bindings: Binding[]
  onChange: () => void
}) {
  const unbind = (b: Binding) => {
    const what = `${b.source === '' ? '(AMQP default)' : b.source} → ${b.destination} (${b.routing_key})`
    return confirmedAttempt(
      { title: 'Remove binding', message: `Remove the binding ${what}?`, confirmLabel: 'Unbind' },
      'Could not remove the binding',
      async () => {
        await request('DELETE', bindingPath(b))
        announce(`Binding ${what} removed.`)
        onChange()
      },
    )
  }
  const columns: Column<Binding>[] = [
    { key: 'source', label: 'From', value: (b) => (b.source === '' ? '(AMQP default)' : b.source) },
    { key: 'destination', label: 'To', value: (b) => `${b.destination} (${b.destination_type})` },
    { key: 'routing_key', label: 'Routing key' },
    { key: 'arguments', label: 'Arguments', value: (b) => keyValues(b.arguments) },
    {
      key: 'actions',
      label: 'Actions',
      render: (b) =>
        b.source === '' ? (
          <span class="muted small">implicit</span>
        ) : (
          <button
            type="button"
            class="small"
            onClick={() => void unbind(b)}
            aria-label={`Unbind ${b.destination} from ${b.source}`}
          >
            Unbind
          </button>
        ),
    },
  ]
  return (
    <DataTable
      caption={caption}
      columns={columns}
      rows={bindings}
      rowKey={(b) => `${b.source}|${b.destination_type}|${b.destination}|${b.properties_key}`}
      empty="No bindings."
    />
  )
}

interface AddProps {
  vhost: string
  /** Binding from this exchange (exchange page) ... */
  source?: string
  /** ... or to this queue (queue page) */
  queue?: string
  onAdded: () => void
}

export function AddBinding({ vhost, source, queue, onAdded }: AddProps) {
  const [other, setOther] = useState('')
  const [kind, setKind] = useState<'q' | 'e'>('q')
  const [key, setKey] = useState('')
  const [args, setArgs] = useState('')
  const submit = (e: Event) => {
    e.preventDefault()
    const from = source ?? other
    const to = queue ?? other
    const type = queue !== undefined ? 'q' : kind
    return attempt('Could not bind', async () => {
      await request('POST', `/api/bindings/${enc(vhost)}/e/${enc(from)}/${type}/${enc(to)}`, {
        routing_key: key,
        arguments: parseKeyValues(args, 'Arguments'),
      })
      announce(`Bound ${to} to ${from}.`)
      setKey('')
      onAdded()
    })
  }
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-label="Add a binding">
      <div class="row">
        {queue === undefined && (
          <SelectField label="Destination type" value={kind} onChange={setKind} options={DESTINATION_TYPES} />
        )}
        <TextField
          label={queue === undefined ? (kind === 'q' ? 'To queue' : 'To exchange') : 'From exchange'}
          value={other}
          onChange={setOther}
          required
          grow
        />
        <TextField label="Routing key" value={key} onChange={setKey} grow />
      </div>
      <TextAreaField label="Arguments" rows={2} value={args} placeholder="x-match=any" onChange={setArgs} />
      <div class="row end">
        <button type="submit">Bind</button>
      </div>
    </form>
  )
}
