// Users: listed with their tags; added with a password and tags; a password or tags changed; deleted.
import { useState } from 'preact/hooks'
import { enc, get, request, type User } from '../api.js'
import { attempt, confirmedAttempt } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { Checkbox, SubmitRow, TextField } from '../components/forms.js'
import { LoadState, Section } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

const KNOWN_TAGS = ['administrator', 'monitoring', 'policymaker', 'management']

function TagsField({ tags, onChange }: { tags: string[]; onChange: (tags: string[]) => void }) {
  const other = tags.filter((t) => !KNOWN_TAGS.includes(t)).join(', ')
  const set = (tag: string, on: boolean) => onChange(on ? [...tags, tag] : tags.filter((t) => t !== tag))
  return (
    <fieldset class="tags">
      <legend>Tags</legend>
      {KNOWN_TAGS.map((t) => (
        <Checkbox key={t} label={t} checked={tags.includes(t)} onChange={(on) => set(t, on)} />
      ))}
      <label class="inline">
        <span>Other tags</span>
        <input
          value={other}
          onChange={(e) =>
            onChange([
              ...tags.filter((t) => KNOWN_TAGS.includes(t)),
              ...e.currentTarget.value
                .split(',')
                .map((t) => t.trim())
                .filter((t) => t !== ''),
            ])
          }
        />
      </label>
    </fieldset>
  )
}

function UserForm({ user, onDone }: { user?: User; onDone: () => void }) {
  const [name, setName] = useState(user?.name ?? '')
  const [password, setPassword] = useState('')
  const [tags, setTags] = useState<string[]>(user?.tags ?? ['management'])
  const submit = (e: Event) => {
    e.preventDefault()
    return attempt(`Could not save user ${name}`, async () => {
      await request('PUT', `/api/users/${enc(name)}`, {
        tags: tags.join(','),
        ...(password !== '' ? { password } : {}),
      })
      announce(user ? `User ${name} updated.` : `User ${name} added.`)
      if (!user) {
        setName('')
        setPassword('')
        setTags(['management'])
      }
      onDone()
    })
  }
  return (
    <form class="stack" onSubmit={(e) => void submit(e)} aria-label={user ? `Edit user ${user.name}` : 'Add a user'}>
      <div class="row">
        {!user && <TextField label="Username" required autocomplete="off" value={name} onChange={setName} grow />}
        <TextField
          label={user ? 'New password (empty: unchanged)' : 'Password'}
          type="password"
          autocomplete="new-password"
          required={!user}
          value={password}
          onChange={setPassword}
          grow
        />
      </div>
      <TagsField tags={tags} onChange={setTags} />
      <SubmitRow label={user ? 'Save user' : 'Add user'} />
    </form>
  )
}

export function Users() {
  const settings = useSettings()
  const polled = usePoll(() => get<User[]>('/api/users'), [])
  const [editing, setEditing] = useState<string | undefined>()
  const remove = (u: User) => {
    const self = u.name === settings.user ? ' This is the user you are logged in as.' : ''
    return confirmedAttempt(
      { title: 'Delete user', message: `Delete user ${u.name}?${self}`, confirmLabel: 'Delete user' },
      `Could not delete ${u.name}`,
      async () => {
        await request('DELETE', `/api/users/${enc(u.name)}`)
        announce(`User ${u.name} deleted.`)
        polled.reload()
      },
    )
  }
  const columns: Column<User>[] = [
    { key: 'name', label: 'Name' },
    { key: 'tags', label: 'Tags', value: (u) => u.tags.join(', ') },
    { key: 'password', label: 'Password', value: (u) => (u.password_hash === '' ? 'none' : 'set') },
    {
      key: 'actions',
      label: 'Actions',
      sortable: false,
      render: (u) => (
        <span class="buttons">
          <button
            type="button"
            class="small"
            aria-expanded={editing === u.name}
            onClick={() => setEditing(editing === u.name ? undefined : u.name)}
            aria-label={`Edit user ${u.name}`}
          >
            Edit
          </button>
          <button
            type="button"
            class="small danger"
            onClick={() => void remove(u)}
            aria-label={`Delete user ${u.name}`}
          >
            Delete
          </button>
        </span>
      ),
    },
  ]
  const editedUser = polled.data?.find((u) => u.name === editing)
  return (
    <>
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {polled.data && (
        <ClientTable
          caption="Users"
          noun="users"
          columns={columns}
          rows={polled.data}
          rowKey={(u) => u.name}
          filterText={(u) => u.name}
          defaultSort={{ key: 'name', reverse: false }}
        />
      )}
      {editedUser && (
        <Section title={`Edit user ${editedUser.name}`} id="edit-user">
          <UserForm
            key={editedUser.name}
            user={editedUser}
            onDone={() => {
              setEditing(undefined)
              polled.reload()
            }}
          />
        </Section>
      )}
      <Section title="Add a user">
        <UserForm onDone={polled.reload} />
      </Section>
    </>
  )
}
