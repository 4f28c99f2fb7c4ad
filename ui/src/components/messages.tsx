// Messages as the peek endpoint (or RabbitMQ's destructive /get) lists them: where each sits in the queue,
// how it was routed, its properties and headers, and its payload as text, pretty JSON or hex, chosen for
// the whole list or per message.
import { useState } from 'preact/hooks'
import type { MessageItem } from '../api.js'
import { bytes as formatBytes, count } from '../format.js'
import { PAYLOAD_VIEWS, payloadBytes, renderPayload, type PayloadView } from './payload.js'

function ViewChoice({
  name,
  legend,
  value,
  onChange,
  inherit,
}: {
  name: string
  legend: string
  value: PayloadView | undefined
  onChange: (v: PayloadView | undefined) => void
  inherit?: boolean
}) {
  return (
    <fieldset class="segmented">
      <legend>{legend}</legend>
      {inherit && (
        <label>
          <input type="radio" name={name} checked={value === undefined} onChange={() => onChange(undefined)} />
          <span>As list</span>
        </label>
      )}
      {PAYLOAD_VIEWS.map(([v, label]) => (
        <label key={v}>
          <input type="radio" name={name} checked={value === v} onChange={() => onChange(v)} />
          <span>{label}</span>
        </label>
      ))}
    </fieldset>
  )
}

function Properties({ properties }: { properties: MessageItem['properties'] }) {
  const entries = Array.isArray(properties) ? [] : Object.entries(properties)
  const plain = entries.filter(([k]) => k !== 'headers')
  const headers = entries.find(([k]) => k === 'headers')?.[1] as Record<string, unknown> | undefined
  if (plain.length === 0 && !headers) return <p class="muted small">No properties.</p>
  return (
    <dl class="props">
      {plain.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{String(v)}</dd>
        </div>
      ))}
      {headers &&
        Object.entries(headers).map(([k, v]) => (
          <div key={`h:${k}`}>
            <dt>
              <span class="muted">header</span> {k}
            </dt>
            <dd>{typeof v === 'object' ? JSON.stringify(v) : String(v)}</dd>
          </div>
        ))}
    </dl>
  )
}

function MessageCard({ m, index, listView }: { m: MessageItem; index: number; listView: PayloadView }) {
  const [own, setOwn] = useState<PayloadView | undefined>()
  const view = own ?? listView
  const body = payloadBytes(m)
  const shown = renderPayload(body, view)
  const place = m.position !== undefined ? `position ${count(m.position)}` : `#${index + 1}`
  const truncated = body.length < m.payload_bytes
  return (
    <article class="message" aria-labelledby={`msg-${index}`}>
      <header>
        <h4 id={`msg-${index}`}>Message {place}</h4>
        <span class={m.redelivered ? 'badge warn' : 'badge'}>{m.redelivered ? 'redelivered' : 'not redelivered'}</span>
      </header>
      <dl class="facts">
        <div>
          <dt>Exchange</dt>
          <dd>{m.exchange === '' ? '(AMQP default)' : m.exchange}</dd>
        </div>
        <div>
          <dt>Routing key</dt>
          <dd>{m.routing_key}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>{formatBytes(m.payload_bytes)}</dd>
        </div>
      </dl>
      <Properties properties={m.properties} />
      <ViewChoice
        name={`view-${index}`}
        legend={`Payload of message ${place} as`}
        value={own}
        onChange={setOwn}
        inherit
      />
      {shown.note && <p class="muted small">{shown.note}</p>}
      {truncated && (
        <p class="muted small">
          First {formatBytes(body.length)} of {formatBytes(m.payload_bytes)} shown.
        </p>
      )}
      <pre class={`payload ${view}`} data-view={view} tabIndex={0} aria-label={`Payload of message ${place}`}>
        {shown.text}
      </pre>
    </article>
  )
}

export function MessageList({ messages }: { messages: MessageItem[] }) {
  const [view, setView] = useState<PayloadView>('text')
  return (
    <div class="messages">
      <ViewChoice name="view-all" legend="Show payloads as" value={view} onChange={(v) => setView(v ?? 'text')} />
      {messages.map((m, i) => (
        <MessageCard key={`${m.position ?? i}:${i}`} m={m} index={i} listView={view} />
      ))}
    </div>
  )
}
