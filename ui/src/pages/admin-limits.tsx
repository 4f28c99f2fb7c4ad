// Limits: per vhost (max-connections, max-queues) and per user (max-connections, max-channels), set and
// cleared one at a time, as RabbitMQ's /api/vhost-limits and /api/user-limits take them. A row's value is
// edited in place: Edit turns it into a field (focused; Enter saves, Escape cancels and returns focus).
import { useEffect, useRef, useState } from 'preact/hooks'
import { enc, get, request, type LimitsItem, type User } from '../api.js'
import { attempt } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { SelectField, TextField, useChosenUser, useDefaultVhost, UserField, VhostField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { DataTable } from '../components/table.js'
import { usePoll } from '../poll.js'
import { count } from '../format.js'

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
  const [limit, setLimit] = useState('max-connections')
  const [value, setValue] = useState('')
  const [editing, setEditing] = useState<string | undefined>()
  const [draft, setDraft] = useState('')
  const draftField = useRef<HTMLInputElement>(null)
  const [chosenUser, setUser] = useChosenUser(users)
  const keyOf = (r: Row) => `${r.kind}:${r.owner}:${r.limit}`
  const nameOf = (r: Row) => `${r.limit} of ${r.kind} ${r.owner}`
  useEffect(() => {
    if (editing !== undefined) draftField.current?.focus()
  }, [editing])
  const pathOf = (k: 'vhost' | 'user', owner: string, name: string) => `/api/${k}-limits/${enc(owner)}/${enc(name)}`

  const set = (e: Event) => {
    e.preventDefault()
    const owner = kind === 'vhost' ? vhost : chosenUser
    return attempt('Could not set the limit', async () => {
      await request('PUT', pathOf(kind, owner, limit), { value: Number(value) })
      announce(`Limit ${limit} of ${kind} ${owner} set to ${value}.`)
      polled.reload()
    })
  }
  const stopEditing = (r: Row) => {
    setEditing(undefined)
    // Back to the row's Edit button, where the keyboard was
    requestAnimationFrame(() =>
      document.querySelector<HTMLElement>(`button[aria-label="${CSS.escape(`Edit ${nameOf(r)}`)}"]`)?.focus(),
    )
  }
  const save = (e: Event, r: Row) => {
    e.preventDefault()
    return attempt('Could not set the limit', async () => {
      await request('PUT', pathOf(r.kind, r.owner, r.limit), { value: Number(draft) })
      announce(`Limit ${r.limit} of ${r.kind} ${r.owner} set to ${draft}.`)
      stopEditing(r)
      polled.reload()
    })
  }
  const clear = (r: Row) =>
    attempt('Could not clear the limit', async () => {
      await request('DELETE', pathOf(r.kind, r.owner, r.limit))
      announce(`Limit ${r.limit} of ${r.kind} ${r.owner} cleared.`)
      polled.reload()
    })
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
          {
            key: 'value',
            label: 'Value',
            numeric: true,
            render: (r: Row) =>
              editing === keyOf(r) ? (
                <form
                  class="inline-edit"
                  aria-label={`Edit ${nameOf(r)}`}
                  onSubmit={(e) => void save(e, r)}
                  onKeyDown={(e) => {
                    if (e.key === 'Escape') stopEditing(r)
                  }}
                >
                  <input
                    ref={draftField}
                    type="number"
                    required
                    aria-label={`New value of ${nameOf(r)} (-1: no limit)`}
                    value={draft}
                    onInput={(e) => setDraft(e.currentTarget.value)}
                  />
                  <button type="submit" class="small primary">
                    Save
                  </button>
                  <button type="button" class="small" onClick={() => stopEditing(r)}>
                    Cancel
                  </button>
                </form>
              ) : (
                count(r.value)
              ),
          },
          {
            key: 'actions',
            label: 'Actions',
            render: (r: Row) => (
              <span class="row-actions">
                <button
                  type="button"
                  class="small"
                  onClick={() => {
                    setDraft(String(r.value))
                    setEditing(keyOf(r))
                  }}
                  aria-label={`Edit ${nameOf(r)}`}
                  disabled={editing === keyOf(r)}
                >
                  Edit
                </button>{' '}
                <button
                  type="button"
                  class="small danger"
                  onClick={() => void clear(r)}
                  aria-label={`Clear ${nameOf(r)}`}
                >
                  Clear
                </button>
              </span>
            ),
          },
        ]}
        rows={rows}
        rowKey={keyOf}
        empty="No limits set."
      />
      <Section title="Set a limit">
        <form class="row end" onSubmit={(e) => void set(e)} aria-label="Set a limit">
          <SelectField
            label="Applies to"
            value={kind}
            onChange={(k) => {
              setKind(k)
              setLimit('max-connections')
            }}
            options={[
              ['vhost', 'Virtual host'],
              ['user', 'User'],
            ]}
          />
          {kind === 'vhost' ? (
            <VhostField value={vhost} onChange={setVhost} />
          ) : (
            <UserField users={users} value={chosenUser} onChange={setUser} />
          )}
          <SelectField label="Limit" value={limit} onChange={setLimit} options={limitNames} />
          <TextField label="Value (-1: no limit)" type="number" required value={value} onChange={setValue} />
          <button type="submit" class="primary">
            Set limit
          </button>
        </form>
      </Section>
    </>
  )
}
