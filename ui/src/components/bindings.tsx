// Bindings of an exchange or a queue, each removable, and a form to add one: on an exchange page from
// this exchange to a queue or exchange; on a queue page from an exchange to this queue.
import { useState } from 'preact/hooks'
import { enc, request, type Binding } from '../api.js'
import { keyValues } from '../format.js'
import { announce, failed } from './announcer.js'
import { confirmAction } from './confirm.js'
import { parseKeyValues } from './publish-form.js'
import { DataTable, type Column } from './table.js'

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
  const unbind = async (b: Binding) => {
    const what = `${b.source === '' ? '(AMQP default)' : b.source} → ${b.destination} (${b.routing_key})`
    if (
      (await confirmAction({
        title: 'Remove binding',
        message: `Remove the binding ${what}?`,
        confirmLabel: 'Unbind',
      })) === null
    )
      return
    try {
      await request('DELETE', bindingPath(b))
      announce(`Binding ${what} removed.`)
      onChange()
    } catch (err) {
      failed('Could not remove the binding', err)
    }
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
  const submit = async (e: Event) => {
    e.preventDefault()
    const from = source ?? other
    const to = queue ?? other
    const type = queue !== undefined ? 'q' : kind
    try {
      await request('POST', `/api/bindings/${enc(vhost)}/e/${enc(from)}/${type}/${enc(to)}`, {
        routing_key: key,
        arguments: parseKeyValues(args, 'Arguments'),
      })
      announce(`Bound ${to} to ${from}.`)
      setKey('')
      onAdded()
    } catch (err) {
      failed('Could not bind', err)
    }
  }
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-label="Add a binding">
      <div class="row">
        {queue === undefined && (
          <label class="field">
            <span>Destination type</span>
            <select
              aria-label="Destination type"
              value={kind}
              onChange={(e) => setKind(e.currentTarget.value as 'q' | 'e')}
            >
              <option value="q">Queue</option>
              <option value="e">Exchange</option>
            </select>
          </label>
        )}
        <label class="field grow">
          <span>{queue === undefined ? (kind === 'q' ? 'To queue' : 'To exchange') : 'From exchange'}</span>
          <input required value={other} onInput={(e) => setOther(e.currentTarget.value)} />
        </label>
        <label class="field grow">
          <span>Routing key</span>
          <input value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
      </div>
      <label class="field">
        <span>Arguments</span>
        <textarea rows={2} value={args} placeholder="x-match=any" onInput={(e) => setArgs(e.currentTarget.value)} />
      </label>
      <div class="row end">
        <button type="submit">Bind</button>
      </div>
    </form>
  )
}
