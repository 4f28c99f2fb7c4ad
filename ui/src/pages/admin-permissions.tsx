// Permissions: who may configure, write and read what in which vhost; set (a new or changed entry) and
// cleared per user and vhost.
import { useState } from 'preact/hooks'
import { enc, get, request, type Permission, type User } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { confirmAction } from '../components/confirm.js'
import { useDefaultVhost, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

export function Permissions() {
  const { vhost: selected } = useSettings()
  const polled = usePoll(() => Promise.all([get<Permission[]>('/api/permissions'), get<User[]>('/api/users')]), [])
  const [permissions, users] = polled.data ?? []
  const [user, setUser] = useState('')
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [configure, setConfigure] = useState('.*')
  const [write, setWrite] = useState('.*')
  const [read, setRead] = useState('.*')
  const chosenUser = user !== '' ? user : (users?.[0]?.name ?? '')

  const set = async (e: Event) => {
    e.preventDefault()
    try {
      await request('PUT', `/api/permissions/${enc(vhost)}/${enc(chosenUser)}`, { configure, write, read })
      announce(`Permissions of ${chosenUser} in ${vhost} set.`)
      polled.reload()
    } catch (err) {
      failed('Could not set permissions', err)
    }
  }
  const clear = async (p: Permission) => {
    const answer = await confirmAction({
      title: 'Clear permissions',
      message: `Clear the permissions of ${p.user} in virtual host ${p.vhost}? The user can no longer use it.`,
      confirmLabel: 'Clear permissions',
    })
    if (answer === null) return
    try {
      await request('DELETE', `/api/permissions/${enc(p.vhost)}/${enc(p.user)}`)
      announce(`Permissions of ${p.user} in ${p.vhost} cleared.`)
      polled.reload()
    } catch (err) {
      failed('Could not clear permissions', err)
    }
  }
  const columns: Column<Permission>[] = [
    { key: 'user', label: 'User' },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'configure', label: 'Configure' },
    { key: 'write', label: 'Write' },
    { key: 'read', label: 'Read' },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      render: (p) => (
        <button
          type="button"
          class="small danger"
          onClick={() => void clear(p)}
          aria-label={`Clear permissions of ${p.user} in ${p.vhost}`}
        >
          Clear
        </button>
      ),
    },
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
            <label class="field">
              <span>User</span>
              <select aria-label="User" value={chosenUser} onChange={(e) => setUser(e.currentTarget.value)}>
                {(users ?? []).map((u) => (
                  <option key={u.name} value={u.name}>
                    {u.name}
                  </option>
                ))}
              </select>
            </label>
            <VhostField value={vhost} onChange={setVhost} />
            <label class="field">
              <span>Configure regexp</span>
              <input value={configure} onInput={(e) => setConfigure(e.currentTarget.value)} />
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
              Set permissions
            </button>
          </div>
        </form>
      </Section>
    </>
  )
}
