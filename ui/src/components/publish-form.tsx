// Publishing through the management API (POST /api/exchanges/{vhost}/{exchange}/publish), as RabbitMQ's
// UI offers it: a routing key (fixed to the queue's name on a queue page, which publishes through the
// default exchange), the delivery mode, the content type, headers and other properties as `name=value`
// lines (or a JSON object), and the payload as text or base64.
import { useState } from 'preact/hooks'
import { enc, request } from '../api.js'
import { attempt } from './actions.js'
import { announce, failed } from './announcer.js'
import { SelectField, TextAreaField, TextField } from './forms.js'

interface Props {
  vhost: string
  exchange: string
  /** The queue page's: the routing key is the queue's name */
  routingKey?: string
  onPublished?: () => void
}

const HEADERS_EXAMPLE = 'one name=value a line, or a JSON object\norder-id=42'
const PROPS_EXAMPLE = 'correlation_id=abc\nreply_to=replies\nexpiration=60000'
const DELIVERY_MODES = [
  ['1', '1 - non-persistent'],
  ['2', '2 - persistent'],
] as const
const ENCODINGS = [
  ['string', 'Text'],
  ['base64', 'Base64'],
] as const

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
    await attempt('Not published', async () => {
      const path = `/api/exchanges/${enc(vhost)}/${enc(exchange === '' ? 'amq.default' : exchange)}/publish`
      const result = await request<{ routed: boolean }>('POST', path, {
        routing_key: routingKey ?? key,
        properties,
        payload,
        payload_encoding: encoding,
      })
      announce(result.routed ? 'Message published.' : 'Message published, but not routed to any queue.')
      onPublished?.()
    })
    setBusy(false)
  }

  return (
    <form class="publish stack" onSubmit={(e) => void submit(e)} aria-label="Publish a message">
      {routingKey === undefined ? (
        <TextField label="Routing key" value={key} onChange={setKey} />
      ) : (
        <p class="muted small">
          Published through the default exchange with routing key <code>{routingKey}</code>.
        </p>
      )}
      <div class="row">
        <SelectField label="Delivery mode" value={deliveryMode} onChange={setDeliveryMode} options={DELIVERY_MODES} />
        <TextField label="Content type" value={contentType} placeholder="application/json" onChange={setContentType} />
      </div>
      <div class="row">
        <TextAreaField label="Headers" value={headers} placeholder={HEADERS_EXAMPLE} onChange={setHeaders} grow />
        <TextAreaField label="Other properties" value={props} placeholder={PROPS_EXAMPLE} onChange={setProps} grow />
      </div>
      <TextAreaField label="Payload" rows={5} value={payload} onChange={setPayload} class="mono" />
      <div class="row end">
        <SelectField label="Payload encoding" value={encoding} onChange={setEncoding} options={ENCODINGS} />
        <button type="submit" class="primary" disabled={busy}>
          Publish message
        </button>
      </div>
    </form>
  )
}
