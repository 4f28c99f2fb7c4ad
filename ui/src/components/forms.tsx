// Form pieces shared by the create forms: a vhost chooser (the selected vhost by default) and checkboxes.
// Every <select> inside a <label> also has aria-label: a label's text would otherwise take in the options'
// text too ("Virtual hostAll/staging"), which is what screen readers would say.
import { useSettings } from '../settings.js'

export function VhostField({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const { vhosts } = useSettings()
  return (
    <label class="field">
      <span>Virtual host</span>
      <select aria-label="Virtual host" value={value} onChange={(e) => onChange(e.currentTarget.value)} required>
        {vhosts.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  )
}

/** The vhost a create form starts with: the selected one, else "/" if the user sees it, else the first */
export function useDefaultVhost(): string {
  const { vhost, vhosts } = useSettings()
  if (vhost !== '') return vhost
  return vhosts.includes('/') ? '/' : (vhosts[0] ?? '/')
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
