// Definitions: the broker's users, vhosts, permissions, policies, exchanges, queues and bindings as
// RabbitMQ's JSON, downloaded (GET /api/definitions) or uploaded (POST /api/definitions).
import { useState } from 'preact/hooks'
import { enc, get, request } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { PageHeading, Section } from '../components/page.js'
import { useSettings } from '../settings.js'

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 10000)
}

export function Definitions() {
  const { vhost, vhosts } = useSettings()
  const [scope, setScope] = useState(vhost)
  const [file, setFile] = useState<File | undefined>()
  const [busy, setBusy] = useState(false)
  const path = scope === '' ? '/api/definitions' : `/api/definitions/${enc(scope)}`
  const stamp = new Date().toISOString().slice(0, 10)
  const fileName = `warren-definitions${scope === '' ? '' : '-' + scope.replace(/[^A-Za-z0-9_-]+/g, '_')}-${stamp}.json`

  const exportDefinitions = async () => {
    try {
      const defs = await get<unknown>(path)
      download(fileName, JSON.stringify(defs, null, 2) + '\n')
      announce(`Definitions downloaded as ${fileName}.`)
    } catch (err) {
      failed('Could not export definitions', err)
    }
  }
  const importDefinitions = async (e: Event) => {
    e.preventDefault()
    if (!file) return
    setBusy(true)
    try {
      const text = await file.text()
      try {
        JSON.parse(text)
      } catch {
        throw new Error(`${file.name} is not JSON`)
      }
      await request('POST', path, text)
      announce(`Definitions from ${file.name} imported.`)
    } catch (err) {
      failed('Could not import definitions', err)
    } finally {
      setBusy(false)
    }
  }
  return (
    <section>
      <PageHeading title="Definitions" />
      <p class="muted">
        Users, virtual hosts, permissions, limits, policies, exchanges, queues and bindings in RabbitMQ's format: a file
        exported here loads into RabbitMQ, and RabbitMQ's exports load here.
      </p>
      <label class="field narrow">
        <span>Scope</span>
        <select aria-label="Scope" value={scope} onChange={(e) => setScope(e.currentTarget.value)}>
          <option value="">The whole broker</option>
          {vhosts.map((v) => (
            <option key={v} value={v}>
              Virtual host {v}
            </option>
          ))}
        </select>
      </label>
      <div class="columns">
        <Section title="Export">
          <p>Downloads the definitions as {fileName}.</p>
          <button type="button" class="primary" onClick={() => void exportDefinitions()}>
            Download definitions
          </button>
        </Section>
        <Section title="Import">
          <form class="stack" onSubmit={(e) => void importDefinitions(e)} aria-label="Import definitions">
            <label class="field">
              <span>Definitions file (JSON)</span>
              <input
                type="file"
                accept="application/json,.json"
                required
                onChange={(e) => setFile(e.currentTarget.files?.[0])}
              />
            </label>
            <p class="muted small">Objects in the file are added or updated; nothing is deleted.</p>
            <div class="row end">
              <button type="submit" class="primary" disabled={busy || !file}>
                Import definitions
              </button>
            </div>
          </form>
        </Section>
      </div>
    </section>
  )
}
