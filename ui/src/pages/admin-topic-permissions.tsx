// Topic permissions (RabbitMQ's /api/topic-permissions): per user, vhost and topic exchange, the routing
// keys the user may publish with (write) and bind or consume with (read). Listed, set, and cleared per user
// and vhost (RabbitMQ's DELETE clears every exchange's entry of that user in that vhost).
import { useState } from 'preact/hooks'
import { enc, get, request, type TopicPermission, type User } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { confirmAction } from '../components/confirm.js'
import { useDefaultVhost, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

export function TopicPermissions({ users }: { users: User[] }) {
  const { vhost: selected } = useSettings()
  const polled = usePoll(() => get<TopicPermission[]>('/api/topic-permissions'), [])
  const [user, setUser] = useState('')
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [exchange, setExchange] = useState('amq.topic')
  const [write, setWrite] = useState('.*')
  const [read, setRead] = useState('.*')
  const chosenUser = user !== '' ? user : (users[0]?.name ?? '')

  const set = async (e: Event) => {
    e.preventDefault()
    try {
      await request('PUT', `/api/topic-permissions/${enc(vhost)}/${enc(chosenUser)}`, { exchange, write, read })
      announce(`Topic permissions of ${chosenUser} on ${exchange} in ${vhost} set.`)
      polled.reload()
    } catch (err) {
      failed('Could not set topic permissions', err)
    }
  }
  const clear = async (p: TopicPermission) => {
    const answer = await confirmAction({
      title: 'Clear topic permissions',
      message: `Clear every topic permission of ${p.user} in virtual host ${p.vhost}? Routing keys are then not checked for this user there.`,
      confirmLabel: 'Clear topic permissions',
    })
    if (answer === null) return
    try {
      await request('DELETE', `/api/topic-permissions/${enc(p.vhost)}/${enc(p.user)}`)
      announce(`Topic permissions of ${p.user} in ${p.vhost} cleared.`)
      polled.reload()
    } catch (err) {
      failed('Could not clear topic permissions', err)
    }
  }
  const columns: Column<TopicPermission>[] = [
    { key: 'user', label: 'User' },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'exchange', label: 'Exchange' },
    { key: 'write', label: 'Write regexp' },
    { key: 'read', label: 'Read regexp' },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      render: (p) => (
        <button
          type="button"
          class="small danger"
          onClick={() => void clear(p)}
          aria-label={`Clear topic permissions of ${p.user} in ${p.vhost}`}
        >
          Clear
        </button>
      ),
    },
  ]
  const rows = (polled.data ?? []).filter((p) => selected === '' || p.vhost === selected)
  return (
    <Section title="Topic permissions">
      <p class="muted small">
        For topic exchanges: the routing keys a user may publish with (write) and bind or consume with (read).
      </p>
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {polled.data && (
        <ClientTable
          caption="Topic permissions"
          noun="topic permissions"
          columns={columns}
          rows={rows}
          rowKey={(p) => `${p.user}\u0000${p.vhost}\u0000${p.exchange}`}
          filterText={(p) => p.user}
          defaultSort={{ key: 'user', reverse: false }}
          empty="No topic permissions: routing keys are not checked."
        />
      )}
      <form class="stack" onSubmit={(e) => void set(e)} aria-label="Set topic permissions">
        <h3>Set topic permissions</h3>
        <div class="row">
          <label class="field">
            <span>User</span>
            <select aria-label="User" value={chosenUser} onChange={(e) => setUser(e.currentTarget.value)}>
              {users.map((u) => (
                <option key={u.name} value={u.name}>
                  {u.name}
                </option>
              ))}
            </select>
          </label>
          <VhostField value={vhost} onChange={setVhost} />
          <label class="field">
            <span>Exchange</span>
            <input required value={exchange} onInput={(e) => setExchange(e.currentTarget.value)} />
          </label>
          <label class="field">
            <span>Write regexp</span>
            <input value={write} onInput={(e) => setWrite(e.currentTarget.value)} />
          </label>
          <label class="field">
            <span>Read regexp</span>
            <input value={read} onInput={(e) => setRead(e.currentTarget.value)} />
          </label>
        </div>
        <div class="row end">
          <button type="submit" class="primary">
            Set topic permissions
          </button>
        </div>
      </form>
    </Section>
  )
}
