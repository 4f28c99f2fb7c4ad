// Adding an exchange or a queue (PUT /api/exchanges|queues/{vhost}/{name}): the same form for both, a vhost,
// a name, a type, durable and auto-delete, and arguments as `name=value` lines (or a JSON object). What the
// two send differs (a queue's type is its x-queue-type argument), so each page builds its own body.
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { enc, request } from '../api.js'
import { attempt } from './actions.js'
import { announce } from './announcer.js'
import { Checkbox, SelectField, SubmitRow, TextAreaField, TextField, useDefaultVhost, VhostField } from './forms.js'
import { parseKeyValues } from './publish-form.js'

export interface Declaration {
  type: string
  durable: boolean
  autoDelete: boolean
  /** The arguments field, parsed */
  arguments: Record<string, unknown>
}

const NOUNS = {
  exchange: { path: 'exchanges', One: 'Exchange', aOne: 'an exchange' },
  queue: { path: 'queues', One: 'Queue', aOne: 'a queue' },
}

interface Props {
  noun: keyof typeof NOUNS
  types: readonly string[]
  /** The type the form starts with */
  initialType: string
  argumentsExample: string
  /** The PUT's body */
  body: (declared: Declaration) => Record<string, unknown>
  onAdded: () => void
  /** More checkboxes, after Durable and Auto-delete */
  children?: ComponentChildren
}

export function DeclareForm({ noun, types, initialType, argumentsExample, body, onAdded, children }: Props) {
  const words = NOUNS[noun]
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [name, setName] = useState('')
  const [type, setType] = useState(initialType)
  const [durable, setDurable] = useState(true)
  const [autoDelete, setAutoDelete] = useState(false)
  const [args, setArgs] = useState('')
  const submit = (e: Event) => {
    e.preventDefault()
    return attempt(`Could not add ${noun} ${name}`, async () => {
      const declared = { type, durable, autoDelete, arguments: parseKeyValues(args, 'Arguments') }
      await request('PUT', `/api/${words.path}/${enc(vhost)}/${enc(name)}`, body(declared))
      announce(`${words.One} ${name} added.`)
      setName('')
      onAdded()
    })
  }
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-label={`Add ${words.aOne}`}>
      <div class="row">
        <VhostField value={vhost} onChange={setVhost} />
        <TextField label="Name" value={name} onChange={setName} required grow />
        <SelectField label="Type" value={type} onChange={setType} options={types} />
      </div>
      <div class="row">
        <Checkbox label="Durable" checked={durable} onChange={setDurable} />
        <Checkbox label="Auto-delete" checked={autoDelete} onChange={setAutoDelete} />
        {children}
      </div>
      <TextAreaField label="Arguments" rows={2} value={args} placeholder={argumentsExample} onChange={setArgs} />
      <SubmitRow label={`Add ${noun}`} />
    </form>
  )
}
