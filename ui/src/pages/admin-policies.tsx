// Policies of the selected vhost: listed, added (the definition as JSON or name=value lines), deleted. The
// same tab has operator policies below (RabbitMQ's Admin → Policies has both): an operator's caps on queues
// (expires, message-ttl, max-length...), which apply with user policies and win where stricter; the API
// refuses any other key and says so.
import { useState } from 'preact/hooks'
import { enc, get, listPath, request, type Policy } from '../api.js'
import { attempt, confirmedAttempt, dangerColumn } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { SelectField, SubmitRow, TextAreaField, TextField, useDefaultVhost, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { parseKeyValues } from '../components/publish-form.js'
import { ClientTable, type Column } from '../components/table.js'
import { keyValues } from '../format.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

type Kind = 'policies' | 'operator-policies'

const WORDS: Record<Kind, { one: string; many: string; Many: string; example: string }> = {
  policies: {
    one: 'policy',
    many: 'policies',
    Many: 'Policies',
    example: 'max-length=10000\nmessage-ttl=60000\ndead-letter-exchange=dlx',
  },
  'operator-policies': {
    one: 'operator policy',
    many: 'operator policies',
    Many: 'Operator policies',
    example: 'max-length=100000\nmessage-ttl=3600000',
  },
}

const APPLY_TO = [
  ['queues', 'Queues'],
  ['exchanges', 'Exchanges'],
  ['all', 'Exchanges and queues'],
] as const

/** Both kinds, one after the other */
export function AllPolicies() {
  return (
    <>
      <Policies kind="policies" />
      <Policies kind="operator-policies" />
    </>
  )
}

export function Policies({ kind }: { kind: Kind }) {
  const { vhost: selected } = useSettings()
  const words = WORDS[kind]
  const operator = kind === 'operator-policies'
  const polled = usePoll(() => get<Policy[]>(listPath(kind, selected)), [selected, kind])
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [name, setName] = useState('')
  const [pattern, setPattern] = useState('.*')
  // Operator policies apply to queues only (RabbitMQ's UI offers nothing else)
  const [applyTo, setApplyTo] = useState('queues')
  const [priority, setPriority] = useState('0')
  const [definition, setDefinition] = useState('')

  const add = (e: Event) => {
    e.preventDefault()
    return attempt(`Could not set ${words.one} ${name}`, async () => {
      await request('PUT', `/api/${kind}/${enc(vhost)}/${enc(name)}`, {
        pattern,
        'apply-to': operator ? 'queues' : applyTo,
        priority: Number(priority),
        definition: parseKeyValues(definition, 'Definition'),
      })
      announce(`${operator ? 'Operator policy' : 'Policy'} ${name} set.`)
      setName('')
      polled.reload()
    })
  }
  const remove = (p: Policy) =>
    confirmedAttempt(
      {
        title: `Delete ${words.one}`,
        message: `Delete ${words.one} ${p.name} in ${p.vhost}?`,
        confirmLabel: `Delete ${words.one}`,
      },
      `Could not delete ${words.one} ${p.name}`,
      async () => {
        await request('DELETE', `/api/${kind}/${enc(p.vhost)}/${enc(p.name)}`)
        announce(`${operator ? 'Operator policy' : 'Policy'} ${p.name} deleted.`)
        polled.reload()
      },
    )
  const columns: Column<Policy>[] = [
    { key: 'name', label: 'Name' },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'pattern', label: 'Pattern' },
    { key: 'apply-to', label: 'Apply to' },
    { key: 'definition', label: 'Definition', value: (p) => keyValues(p.definition) },
    { key: 'priority', label: 'Priority', numeric: true },
    dangerColumn('Delete', (p) => `Delete ${words.one} ${p.name}`, remove),
  ]
  const form = operator ? 'Add or update an operator policy' : 'Add or update a policy'
  const table = polled.data && (
    <ClientTable
      caption={words.Many}
      noun={words.many}
      columns={operator ? columns.filter((c) => c.key !== 'apply-to') : columns}
      rows={polled.data}
      rowKey={(p) => `${p.vhost}\u0000${p.name}`}
      filterText={(p) => p.name}
      defaultSort={{ key: 'name', reverse: false }}
      empty={`No ${words.many}.`}
    />
  )
  return (
    <Section title={words.Many}>
      {operator && (
        <p class="muted small">
          Caps an operator sets on queues (expires, message-ttl, max-length, max-length-bytes, max-in-memory-length,
          max-in-memory-bytes, delivery-limit): they apply together with the policies above, the stricter value winning.
        </p>
      )}
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {table}
      <form class="stack" onSubmit={(e) => void add(e)} aria-label={form}>
        <h3>{form}</h3>
        <div class="row">
          <VhostField value={vhost} onChange={setVhost} />
          <TextField label="Name" value={name} onChange={setName} required grow />
          <TextField label="Pattern" value={pattern} onChange={setPattern} required grow />
          {!operator && <SelectField label="Apply to" value={applyTo} onChange={setApplyTo} options={APPLY_TO} />}
          <TextField label="Priority" type="number" value={priority} onChange={setPriority} />
        </div>
        <TextAreaField
          label="Definition"
          required
          value={definition}
          placeholder={words.example}
          onChange={setDefinition}
        />
        <SubmitRow label={operator ? 'Set operator policy' : 'Set policy'} />
      </form>
    </Section>
  )
}
