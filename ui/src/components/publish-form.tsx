// Publishing through the management API (POST /api/exchanges/{vhost}/{exchange}/publish), as RabbitMQ's
// UI offers it: a routing key (fixed to the queue's name on a queue page, which publishes through the
// default exchange), the delivery mode, the content type, headers and other properties as `name=value`
// lines (or a JSON object), and the payload as text or base64.
import { useState } from 'preact/hooks'
import { enc, request } from '../api.js'
import { announce, failed } from './announcer.js'

interface Props {
  vhost: string
  exchange: string
  /** The queue page's: the routing key is the queue's name */
  routingKey?: string
  onPublished?: () => void
}

/** `a=1` lines (numbers and booleans typed as such) or a JSON object */
export function parseKeyValues(text: string, what: string): Record<string, unknown> {
  const trimmed = text.trim()
  if (trimmed === '') return {}
  if (trimmed.startsWith('{')) {
    const value = JSON.parse(trimmed) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what}: not an object`)
    return value as Record<string, unknown>
  }
  const out: Record<string, unknown> = {}
  for (const line of trimmed.split('\n')) {
    if (line.trim() === '') continue
    const eq = line.indexOf('=')
    if (eq <= 0) throw new Error(`${what}: "${line.trim()}" is not name=value`)
    const key = line.slice(0, eq).trim()
    const raw = line.slice(eq + 1).trim()
    out[key] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw
  }
  return out
}

export function PublishForm({ vhost, exchange, routingKey, onPublished }: Props) {
  const [key, setKey] = useState('')
  const [deliveryMode, setDeliveryMode] = useState('1')
  const [contentType, setContentType] = useState('')
  const [headers, setHeaders] = useState('')
  const [props, setProps] = useState('')
  const [payload, setPayload] = useState('')
  const [encoding, setEncoding] = useState<'string' | 'base64'>('string')
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    let properties: Record<string, unknown>
    try {
      properties = { ...parseKeyValues(props, 'Properties'), delivery_mode: Number(deliveryMode) }
      const h = parseKeyValues(headers, 'Headers')
      if (Object.keys(h).length > 0) properties['headers'] = h
    } catch (err) {
      failed('Not published', err)
      return
    }
    if (contentType !== '') properties['content_type'] = contentType
    setBusy(true)
    try {
      const path = `/api/exchanges/${enc(vhost)}/${enc(exchange === '' ? 'amq.default' : exchange)}/publish`
      const result = await request<{ routed: boolean }>('POST', path, {
        routing_key: routingKey ?? key,
        properties,
        payload,
        payload_encoding: encoding,
      })
      announce(result.routed ? 'Message published.' : 'Message published, but not routed to any queue.')
      onPublished?.()
    } catch (err) {
      failed('Not published', err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form class="publish stack" onSubmit={(e) => void submit(e)} aria-label="Publish a message">
      {routingKey === undefined ? (
        <label class="field">
          <span>Routing key</span>
          <input value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
      ) : (
        <p class="muted small">
          Published through the default exchange with routing key <code>{routingKey}</code>.
        </p>
      )}
      <div class="row">
        <label class="field">
          <span>Delivery mode</span>
          <select
            aria-label="Delivery mode"
            value={deliveryMode}
            onChange={(e) => setDeliveryMode(e.currentTarget.value)}
          >
            <option value="1">1 - non-persistent</option>
            <option value="2">2 - persistent</option>
          </select>
        </label>
        <label class="field">
          <span>Content type</span>
          <input
            value={contentType}
            placeholder="application/json"
            onInput={(e) => setContentType(e.currentTarget.value)}
          />
        </label>
      </div>
      <div class="row">
        <label class="field grow">
          <span>Headers</span>
          <textarea
            rows={3}
            value={headers}
            placeholder={'one name=value a line, or a JSON object\norder-id=42'}
            onInput={(e) => setHeaders(e.currentTarget.value)}
          />
        </label>
        <label class="field grow">
          <span>Other properties</span>
          <textarea
            rows={3}
            value={props}
            placeholder={'correlation_id=abc\nreply_to=replies\nexpiration=60000'}
            onInput={(e) => setProps(e.currentTarget.value)}
          />
        </label>
      </div>
      <label class="field">
        <span>Payload</span>
        <textarea rows={5} value={payload} onInput={(e) => setPayload(e.currentTarget.value)} class="mono" />
      </label>
      <div class="row end">
        <label class="field">
          <span>Payload encoding</span>
          <select
            aria-label="Payload encoding"
            value={encoding}
            onChange={(e) => setEncoding(e.currentTarget.value as 'string' | 'base64')}
          >
            <option value="string">Text</option>
            <option value="base64">Base64</option>
          </select>
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Publish message
        </button>
      </div>
    </form>
  )
}
