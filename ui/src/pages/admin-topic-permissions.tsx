// Topic permissions (RabbitMQ's /api/topic-permissions): per user, vhost and topic exchange, the routing
// keys the user may publish with (write) and bind or consume with (read). Listed, set, and cleared per user
// and vhost (RabbitMQ's DELETE clears every exchange's entry of that user in that vhost).
import { useState } from 'preact/hooks'
import { enc, get, request, type TopicPermission, type User } from '../api.js'
import { attempt, confirmedAttempt, dangerColumn } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { SubmitRow, TextField, useChosenUser, useDefaultVhost, UserField, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

export function TopicPermissions({ users }: { users: User[] }) {
  const { vhost: selected } = useSettings()
  const polled = usePoll(() => get<TopicPermission[]>('/api/topic-permissions'), [])
  const [chosenUser, setUser] = useChosenUser(users)
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [exchange, setExchange] = useState('amq.topic')
  const [write, setWrite] = useState('.*')
  const [read, setRead] = useState('.*')

  const set = (e: Event) => {
    e.preventDefault()
    return attempt('Could not set topic permissions', async () => {
      await request('PUT', `/api/topic-permissions/${enc(vhost)}/${enc(chosenUser)}`, { exchange, write, read })
      announce(`Topic permissions of ${chosenUser} on ${exchange} in ${vhost} set.`)
      polled.reload()
    })
  }
  const clear = (p: TopicPermission) =>
    confirmedAttempt(
      {
        title: 'Clear topic permissions',
        message: `Clear every topic permission of ${p.user} in virtual host ${p.vhost}? Routing keys are then not checked for this user there.`,
        confirmLabel: 'Clear topic permissions',
      },
      'Could not clear topic permissions',
      async () => {
        await request('DELETE', `/api/topic-permissions/${enc(p.vhost)}/${enc(p.user)}`)
        announce(`Topic permissions of ${p.user} in ${p.vhost} cleared.`)
        polled.reload()
      },
    )
  const columns: Column<TopicPermission>[] = [
    { key: 'user', label: 'User' },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'exchange', label: 'Exchange' },
    { key: 'write', label: 'Write regexp' },
    { key: 'read', label: 'Read regexp' },
    dangerColumn('Clear', (p) => `Clear topic permissions of ${p.user} in ${p.vhost}`, clear),
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
          <UserField users={users} value={chosenUser} onChange={setUser} />
          <VhostField value={vhost} onChange={setVhost} />
          <TextField label="Exchange" value={exchange} onChange={setExchange} required />
          <TextField label="Write regexp" value={write} onChange={setWrite} />
          <TextField label="Read regexp" value={read} onChange={setRead} />
        </div>
        <SubmitRow label="Set topic permissions" />
      </form>
    </Section>
  )
}
