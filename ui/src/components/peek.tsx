// Looking at a queue's messages. Peek (GET /api/queues/{v}/{q}/messages) reads the ready messages from a
// position on without touching the queue: no redelivered flag set, no reordering, unlike RabbitMQ's "Get
// messages", which takes and requeues them. RabbitMQ's get is offered too, labelled for what it does.
import { useState } from 'preact/hooks'
import { ApiError, enc, request, type MessageItem } from '../api.js'
import { confirmedAttempt } from './actions.js'
import { announce, failed } from './announcer.js'
import { SelectField, TextField } from './forms.js'
import { MessageList } from './messages.js'

const TRUNCATE = 50000

/** RabbitMQ's get: what happens to the messages taken */
const ACK_MODES = [
  ['ack_requeue_true', 'Nack, requeue (marks them redelivered)'],
  ['reject_requeue_true', 'Reject, requeue (marks them redelivered)'],
  ['ack_requeue_false', 'Ack: remove from the queue'],
  ['reject_requeue_false', 'Reject: remove (dead-letter if configured)'],
] as const

export function Peek({ vhost, queue, onChange }: { vhost: string; queue: string; onChange: () => void }) {
  const [countText, setCountText] = useState('10')
  const [offsetText, setOffsetText] = useState('0')
  const [messages, setMessages] = useState<MessageItem[] | undefined>()
  const [heading, setHeading] = useState('')
  const [unsupported, setUnsupported] = useState(false)
  const base = `/api/queues/${enc(vhost)}/${enc(queue)}`

  const peek = async (offset: number) => {
    const n = Math.max(1, Math.min(500, Number(countText) || 10))
    try {
      const list = await request<MessageItem[]>(
        'GET',
        `${base}/messages?count=${n}&offset=${offset}&truncate=${TRUNCATE}`,
      )
      setOffsetText(String(offset))
      setMessages(list)
      setHeading(`Peeked: ${list.length} message${list.length === 1 ? '' : 's'} from position ${offset}`)
      announce(
        list.length === 0
          ? `No ready message at position ${offset} or after.`
          : `Showing ${list.length} message${list.length === 1 ? '' : 's'} from position ${offset}; the queue is unchanged.`,
      )
    } catch (err) {
      // A broker without the peek endpoint answers 404 (the queue itself exists: this page just read it)
      if (err instanceof ApiError && err.status === 404) setUnsupported(true)
      failed('Could not peek', err)
    }
  }

  const [ackmode, setAckmode] = useState('ack_requeue_true')
  const [getCount, setGetCount] = useState('1')
  const getMessages = () => {
    const n = Math.max(1, Number(getCount) || 1)
    const removes = ackmode.endsWith('requeue_false')
    const confirm = {
      title: removes ? 'Get and remove messages' : 'Get and requeue messages',
      message: removes
        ? `Take ${n} message(s) from the head of ${queue} and remove them for good?`
        : `Take ${n} message(s) from the head of ${queue} and requeue them? They come back marked redelivered. To look without changing anything, use Peek.`,
      confirmLabel: removes ? 'Get and remove' : 'Get and requeue',
    }
    return confirmedAttempt(confirm, 'Could not get messages', async () => {
      const list = await request<MessageItem[]>('POST', `${base}/get`, {
        count: n,
        ackmode,
        encoding: 'auto',
        truncate: TRUNCATE,
      })
      setMessages(list)
      setHeading(`Got ${list.length} message${list.length === 1 ? '' : 's'} (${ackmode.replace(/_/g, ' ')})`)
      announce(`Got ${list.length} message${list.length === 1 ? '' : 's'}.`)
      onChange()
    })
  }

  const offset = Number(offsetText) || 0
  const n = Number(countText) || 10
  return (
    <div class="stack">
      <form
        class="row end"
        aria-label="Peek at messages"
        onSubmit={(e) => {
          e.preventDefault()
          void peek(Math.max(0, offset))
        }}
      >
        <TextField label="Messages" type="number" min={1} max={500} value={countText} onChange={setCountText} />
        <TextField label="From position" type="number" min={0} value={offsetText} onChange={setOffsetText} />
        <button type="submit" class="primary">
          Peek messages
        </button>
        {messages && heading.startsWith('Peeked') && (
          <>
            <button type="button" disabled={offset === 0} onClick={() => void peek(Math.max(0, offset - n))}>
              Previous {n}
            </button>
            <button type="button" disabled={messages.length < n} onClick={() => void peek(offset + n)}>
              Next {n}
            </button>
          </>
        )}
      </form>
      <p class="muted small">
        Peeking reads the ready messages without taking them: their order and redelivered flags stay as they are.
      </p>
      {unsupported && <p class="form-error">This broker does not offer peeking; RabbitMQ's get is below.</p>}
      <details class="get">
        <summary>Get messages the RabbitMQ way (takes them from the queue)</summary>
        <form
          class="row end"
          aria-label="Get messages"
          onSubmit={(e) => {
            e.preventDefault()
            void getMessages()
          }}
        >
          <SelectField label="Ack mode" value={ackmode} onChange={setAckmode} options={ACK_MODES} />
          <TextField label="Messages" type="number" min={1} value={getCount} onChange={setGetCount} />
          <button type="submit" class="danger">
            Get messages
          </button>
        </form>
      </details>
      {messages && (
        <section aria-labelledby="messages-heading">
          <h3 id="messages-heading">{heading}</h3>
          {messages.length === 0 ? <p class="muted">No messages.</p> : <MessageList messages={messages} />}
        </section>
      )}
    </div>
  )
}
