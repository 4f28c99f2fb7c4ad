// Policies of the selected vhost: listed, added (the definition as JSON or name=value lines), deleted.
import { useState } from 'preact/hooks'
import { enc, get, listPath, request, type Policy } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { confirmAction } from '../components/confirm.js'
import { useDefaultVhost, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { parseKeyValues } from '../components/publish-form.js'
import { ClientTable, type Column } from '../components/table.js'
import { keyValues } from '../format.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

export function Policies() {
  const { vhost: selected } = useSettings()
  const polled = usePoll(() => get<Policy[]>(listPath('policies', selected)), [selected])
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [name, setName] = useState('')
  const [pattern, setPattern] = useState('.*')
  const [applyTo, setApplyTo] = useState('queues')
  const [priority, setPriority] = useState('0')
  const [definition, setDefinition] = useState('')

  const add = async (e: Event) => {
    e.preventDefault()
    try {
      await request('PUT', `/api/policies/${enc(vhost)}/${enc(name)}`, {
        pattern,
        'apply-to': applyTo,
        priority: Number(priority),
        definition: parseKeyValues(definition, 'Definition'),
      })
      announce(`Policy ${name} set.`)
      setName('')
      polled.reload()
    } catch (err) {
      failed(`Could not set policy ${name}`, err)
    }
  }
  const remove = async (p: Policy) => {
    if (
      (await confirmAction({
        title: 'Delete policy',
        message: `Delete policy ${p.name} in ${p.vhost}?`,
        confirmLabel: 'Delete policy',
      })) === null
    )
      return
    try {
      await request('DELETE', `/api/policies/${enc(p.vhost)}/${enc(p.name)}`)
      announce(`Policy ${p.name} deleted.`)
      polled.reload()
    } catch (err) {
      failed(`Could not delete policy ${p.name}`, err)
    }
  }
  const columns: Column<Policy>[] = [
    { key: 'name', label: 'Name' },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'pattern', label: 'Pattern' },
    { key: 'apply-to', label: 'Apply to' },
    { key: 'definition', label: 'Definition', value: (p) => keyValues(p.definition) },
    { key: 'priority', label: 'Priority', numeric: true },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      render: (p) => (
        <button
          type="button"
          class="small danger"
          onClick={() => void remove(p)}
          aria-label={`Delete policy ${p.name}`}
        >
          Delete
        </button>
      ),
    },
  ]
  return (
    <>
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {polled.data && (
        <ClientTable
          caption="Policies"
          noun="policies"
          columns={columns}
          rows={polled.data}
          rowKey={(p) => `${p.vhost}\u0000${p.name}`}
          filterText={(p) => p.name}
          defaultSort={{ key: 'name', reverse: false }}
          empty="No policies."
        />
      )}
      <Section title="Add or update a policy">
        <form class="stack" onSubmit={(e) => void add(e)} aria-label="Add or update a policy">
          <div class="row">
            <VhostField value={vhost} onChange={setVhost} />
            <label class="field grow">
              <span>Name</span>
              <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </label>
            <label class="field grow">
              <span>Pattern</span>
              <input required value={pattern} onInput={(e) => setPattern(e.currentTarget.value)} />
            </label>
            <label class="field">
              <span>Apply to</span>
              <select aria-label="Apply to" value={applyTo} onChange={(e) => setApplyTo(e.currentTarget.value)}>
                <option value="queues">Queues</option>
                <option value="exchanges">Exchanges</option>
                <option value="all">Exchanges and queues</option>
              </select>
            </label>
            <label class="field">
              <span>Priority</span>
              <input type="number" value={priority} onInput={(e) => setPriority(e.currentTarget.value)} />
            </label>
          </div>
          <label class="field">
            <span>Definition</span>
            <textarea
              rows={3}
              required
              value={definition}
              placeholder={'max-length=10000\nmessage-ttl=60000\ndead-letter-exchange=dlx'}
              onInput={(e) => setDefinition(e.currentTarget.value)}
            />
          </label>
          <div class="row end">
            <button type="submit" class="primary">
              Set policy
            </button>
          </div>
        </form>
      </Section>
    </>
  )
}
