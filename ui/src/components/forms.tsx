// Form pieces shared by the forms: labelled fields (text, text area, select), a vhost chooser (the selected
// vhost by default), a user chooser, checkboxes and the submit row. Every <select> inside a <label> also has
// aria-label: a label's text would otherwise take in the options' text too ("Virtual hostAll/staging"),
// which is what screen readers would say.
import type { ComponentChildren, InputHTMLAttributes } from 'preact'
import { useState } from 'preact/hooks'
import type { User } from '../api.js'
import { useSettings } from '../settings.js'

interface FieldProps<V extends string = string> {
  label: string
  value: V
  onChange: (value: V) => void
  required?: boolean
  /** Takes the row's spare width */
  grow?: boolean
}

/** The label around a field: its text, then the field, above (class field) or beside it (class inline) */
function Labelled({
  label,
  grow,
  inline,
  children,
}: {
  label: string
  grow?: boolean
  inline?: boolean
  children: ComponentChildren
}) {
  return (
    <label class={inline ? 'inline' : grow ? 'field grow' : 'field'}>
      <span>{label}</span>
      {children}
    </label>
  )
}

interface TextProps extends FieldProps {
  type?: 'number' | 'password'
  placeholder?: string
  autocomplete?: string
  min?: number
  max?: number
}

/** An <input> (type text unless said) with its label above it */
export function TextField({ label, value, onChange, grow, ...input }: TextProps) {
  return (
    <Labelled label={label} grow={grow}>
      {/* Preact types each input type apart; the props above are valid for all of them */}
      <input {...(input as InputHTMLAttributes)} value={value} onInput={(e) => onChange(e.currentTarget.value)} />
    </Labelled>
  )
}

interface TextAreaProps extends FieldProps {
  /** Lines shown: 3 unless said */
  rows?: number
  placeholder?: string
  class?: string
}

export function TextAreaField({ label, value, onChange, grow, rows = 3, ...textarea }: TextAreaProps) {
  return (
    <Labelled label={label} grow={grow}>
      <textarea {...textarea} rows={rows} value={value} onInput={(e) => onChange(e.currentTarget.value)} />
    </Labelled>
  )
}

/** An option: its value, shown as it is, or [value, text shown] */
export type Choice<V extends string> = V | readonly [value: V, text: string]

export function SelectField<V extends string>({
  label,
  value,
  onChange,
  required,
  grow,
  options,
  inline,
}: FieldProps<V> & {
  options: readonly Choice<V>[]
  /** A label beside its select (class inline), as in the header and the pager, not above it */
  inline?: boolean
}) {
  return (
    <Labelled label={label} grow={grow} inline={inline}>
      <select
        aria-label={label}
        value={value}
        onChange={(e) => onChange(e.currentTarget.value as V)}
        required={required}
      >
        {options.map((o) => {
          const [v, text] = typeof o === 'string' ? [o, o] : o
          return (
            <option key={v} value={v}>
              {text}
            </option>
          )
        })}
      </select>
    </Labelled>
  )
}

export function VhostField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const { vhosts } = useSettings()
  return <SelectField label="Virtual host" value={value} onChange={onChange} options={vhosts} required />
}

/** The vhost a create form starts with: the selected one, else "/" if the user sees it, else the first */
export function useDefaultVhost(): string {
  const { vhost, vhosts } = useSettings()
  if (vhost !== '') return vhost
  return vhosts.includes('/') ? '/' : (vhosts[0] ?? '/')
}

/** The user a form names: the one chosen, else the first of the list (which may still be loading) */
export function useChosenUser(users: User[] | undefined): [user: string, choose: (user: string) => void] {
  const [user, setUser] = useState('')
  return [user !== '' ? user : (users?.[0]?.name ?? ''), setUser]
}

export function UserField({
  users,
  value,
  onChange,
}: {
  users: User[] | undefined
  value: string
  onChange: (v: string) => void
}) {
  return <SelectField label="User" value={value} onChange={onChange} options={(users ?? []).map((u) => u.name)} />
}

export function Checkbox({
  label,
  checked,
  onChange,
}: {
  label: string
  checked: boolean
  onChange: (v: boolean) => void
}) {
  return (
    <label class="check">
      <input type="checkbox" checked={checked} onChange={(e) => onChange(e.currentTarget.checked)} />
      <span>{label}</span>
    </label>
  )
}

/** A form's primary button at the row's end */
export function SubmitRow({ label }: { label: string }) {
  return (
    <div class="row end">
      <button type="submit" class="primary">
        {label}
      </button>
    </div>
  )
}
