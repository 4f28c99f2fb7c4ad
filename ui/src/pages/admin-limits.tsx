// Limits: per vhost (max-connections, max-queues) and per user (max-connections, max-channels), set and
// cleared one at a time, as RabbitMQ's /api/vhost-limits and /api/user-limits take them.
import { useState } from 'preact/hooks'
import { enc, get, request, type LimitsItem, type User } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { useDefaultVhost, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { DataTable } from '../components/table.js'
import { usePoll } from '../poll.js'

interface Row {
  kind: 'vhost' | 'user'
  owner: string
  limit: string
  value: number
}

const rowsOf = (kind: 'vhost' | 'user', items: LimitsItem[]): Row[] =>
  items.flatMap((i) =>
    Object.entries(i.value).map(([limit, value]) => ({
      kind,
      owner: (kind === 'vhost' ? i.vhost : i.user) ?? '',
      limit,
      value,
    })),
  )

export function Limits() {
  const polled = usePoll(
    () =>
      Promise.all([
        get<LimitsItem[]>('/api/vhost-limits'),
        get<LimitsItem[]>('/api/user-limits'),
        get<User[]>('/api/users'),
      ]),
    [],
  )
  const [vhostLimits, userLimits, users] = polled.data ?? []
  const [kind, setKind] = useState<'vhost' | 'user'>('vhost')
  const [vhost, setVhost] = useState(useDefaultVhost())
  const [user, setUser] = useState('')
  const [limit, setLimit] = useState('max-connections')
  const [value, setValue] = useState('')
  const chosenUser = user !== '' ? user : (users?.[0]?.name ?? '')
  const pathOf = (k: 'vhost' | 'user', owner: string, name: string) => `/api/${k}-limits/${enc(owner)}/${enc(name)}`

  const set = async (e: Event) => {
    e.preventDefault()
    const owner = kind === 'vhost' ? vhost : chosenUser
    try {
      await request('PUT', pathOf(kind, owner, limit), { value: Number(value) })
      announce(`Limit ${limit} of ${kind} ${owner} set to ${value}.`)
      polled.reload()
    } catch (err) {
      failed('Could not set the limit', err)
    }
  }
  const clear = async (r: Row) => {
    try {
      await request('DELETE', pathOf(r.kind, r.owner, r.limit))
      announce(`Limit ${r.limit} of ${r.kind} ${r.owner} cleared.`)
      polled.reload()
    } catch (err) {
      failed('Could not clear the limit', err)
    }
  }
  const rows = [...rowsOf('vhost', vhostLimits ?? []), ...rowsOf('user', userLimits ?? [])]
  const limitNames = kind === 'vhost' ? ['max-connections', 'max-queues'] : ['max-connections', 'max-channels']
  return (
    <>
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      <DataTable
        caption="Limits"
        columns={[
          { key: 'kind', label: 'Applies to' },
          { key: 'owner', label: 'Name' },
          { key: 'limit', label: 'Limit' },
          { key: 'value', label: 'Value', numeric: true },
          {
            key: 'actions',
            label: 'Actions',
            render: (r: Row) => (
              <button
                type="button"
                class="small danger"
                onClick={() => void clear(r)}
                aria-label={`Clear ${r.limit} of ${r.kind} ${r.owner}`}
              >
                Clear
              </button>
            ),
          },
        ]}
        rows={rows}
        rowKey={(r) => `${r.kind}:${r.owner}:${r.limit}`}
        empty="No limits set."
      />
      <Section title="Set a limit">
        <form class="row end" onSubmit={(e) => void set(e)} aria-label="Set a limit">
          <label class="field">
            <span>Applies to</span>
            <select
              aria-label="Applies to"
              value={kind}
              onChange={(e) => {
                setKind(e.currentTarget.value as 'vhost' | 'user')
                setLimit('max-connections')
              }}
            >
              <option value="vhost">Virtual host</option>
              <option value="user">User</option>
            </select>
          </label>
          {kind === 'vhost' ? (
            <VhostField value={vhost} onChange={setVhost} />
          ) : (
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
          )}
          <label class="field">
            <span>Limit</span>
            <select aria-label="Limit" value={limit} onChange={(e) => setLimit(e.currentTarget.value)}>
              {limitNames.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <label class="field">
            <span>Value (-1: no limit)</span>
            <input type="number" required value={value} onInput={(e) => setValue(e.currentTarget.value)} />
          </label>
          <button type="submit" class="primary">
            Set limit
          </button>
        </form>
      </Section>
    </>
  )
}
