// Virtual hosts: listed with their message counts, added with a description, deleted (with all in them).
import { useState } from 'preact/hooks'
import { enc, get, request, type Vhost } from '../api.js'
import { attempt, confirmedAttempt, dangerColumn } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { TextField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

export function Vhosts() {
  const settings = useSettings()
  const polled = usePoll(() => get<Vhost[]>('/api/vhosts'), [])
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const changed = () => {
    polled.reload()
    settings.reloadVhosts()
  }
  const add = (e: Event) => {
    e.preventDefault()
    return attempt(`Could not add virtual host ${name}`, async () => {
      await request('PUT', `/api/vhosts/${enc(name)}`, { description })
      announce(`Virtual host ${name} added.`)
      setName('')
      setDescription('')
      changed()
    })
  }
  const remove = (v: Vhost) =>
    confirmedAttempt(
      {
        title: 'Delete virtual host',
        message: `Delete virtual host ${v.name} with all its exchanges, queues and ${v.messages} messages?`,
        confirmLabel: 'Delete virtual host',
      },
      `Could not delete ${v.name}`,
      async () => {
        await request('DELETE', `/api/vhosts/${enc(v.name)}`)
        announce(`Virtual host ${v.name} deleted.`)
        changed()
      },
    )
  const columns: Column<Vhost>[] = [
    { key: 'name', label: 'Name' },
    { key: 'description', label: 'Description' },
    { key: 'tags', label: 'Tags', value: (v) => v.tags.join(', ') },
    { key: 'messages_ready', label: 'Ready', numeric: true },
    { key: 'messages_unacknowledged', label: 'Unacked', numeric: true },
    { key: 'messages', label: 'Total', numeric: true },
    dangerColumn('Delete', (v) => `Delete virtual host ${v.name}`, remove),
  ]
  return (
    <>
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {polled.data && (
        <ClientTable
          caption="Virtual hosts"
          noun="virtual hosts"
          columns={columns}
          rows={polled.data}
          rowKey={(v) => v.name}
          filterText={(v) => v.name}
          defaultSort={{ key: 'name', reverse: false }}
        />
      )}
      <Section title="Add a virtual host">
        <form class="row end" onSubmit={(e) => void add(e)} aria-label="Add a virtual host">
          <TextField label="Name" value={name} onChange={setName} required grow />
          <TextField label="Description" value={description} onChange={setDescription} grow />
          <button type="submit" class="primary">
            Add virtual host
          </button>
        </form>
      </Section>
    </>
  )
}
