// Permissions: who may configure, write and read what in which vhost; set (a new or changed entry) and
// cleared per user and vhost; below them the topic permissions (admin-topic-permissions.tsx).
import { useState } from 'preact/hooks'
import { enc, get, request, type Permission, type User } from '../api.js'
import { attempt, confirmedAttempt, dangerColumn } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { SubmitRow, TextField, useChosenUser, useDefaultVhost, UserField, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { TopicPermissions } from './admin-topic-permissions.js'
import { useSettings } from '../settings.js'

export function Permissions() {
  const { vhost: selected } = useSettings()
  const polled = usePoll(() => Promise.all([get<Permission[]>('/api/permissions'), get<User[]>('/api/users')]), [])
  const [permissions, users] = polled.data ?? []
  const [chosenUser, setUser] = useChosenUser(users)
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [configure, setConfigure] = useState('.*')
  const [write, setWrite] = useState('.*')
  const [read, setRead] = useState('.*')

  const set = (e: Event) => {
    e.preventDefault()
    return attempt('Could not set permissions', async () => {
      await request('PUT', `/api/permissions/${enc(vhost)}/${enc(chosenUser)}`, { configure, write, read })
      announce(`Permissions of ${chosenUser} in ${vhost} set.`)
      polled.reload()
    })
  }
  const clear = (p: Permission) =>
    confirmedAttempt(
      {
        title: 'Clear permissions',
        message: `Clear the permissions of ${p.user} in virtual host ${p.vhost}? The user can no longer use it.`,
        confirmLabel: 'Clear permissions',
      },
      'Could not clear permissions',
      async () => {
        await request('DELETE', `/api/permissions/${enc(p.vhost)}/${enc(p.user)}`)
        announce(`Permissions of ${p.user} in ${p.vhost} cleared.`)
        polled.reload()
      },
    )
  const columns: Column<Permission>[] = [
    { key: 'user', label: 'User' },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'configure', label: 'Configure' },
    { key: 'write', label: 'Write' },
    { key: 'read', label: 'Read' },
    dangerColumn('Clear', (p) => `Clear permissions of ${p.user} in ${p.vhost}`, clear),
  ]
  const rows = (permissions ?? []).filter((p) => selected === '' || p.vhost === selected)
  return (
    <>
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {permissions && (
        <ClientTable
          caption="Permissions"
          noun="permissions"
          columns={columns}
          rows={rows}
          rowKey={(p) => `${p.user}\u0000${p.vhost}`}
          filterText={(p) => p.user}
          defaultSort={{ key: 'user', reverse: false }}
        />
      )}
      <Section title="Set permissions">
        <form class="stack" onSubmit={(e) => void set(e)} aria-label="Set permissions">
          <div class="row">
            <UserField users={users} value={chosenUser} onChange={setUser} />
            <VhostField value={vhost} onChange={setVhost} />
            <TextField label="Configure regexp" value={configure} onChange={setConfigure} />
            <TextField label="Write regexp" value={write} onChange={setWrite} />
            <TextField label="Read regexp" value={read} onChange={setRead} />
          </div>
          <SubmitRow label="Set permissions" />
        </form>
      </Section>
      <TopicPermissions users={users ?? []} />
    </>
  )
}
