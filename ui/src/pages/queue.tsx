// One queue: its counts and settings, a live chart of its rates and depth, consumers, bindings (with a
// form to bind), a publish form (through the default exchange, the queue's name as routing key), message
// viewing (peek without side effects), and Purge and Delete, each confirmed.
import { enc, get, request, type Binding, type Consumer, type Queue } from '../api.js'
import { confirmedAttempt } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { AddBinding, BindingsTable } from '../components/bindings.js'
import { HISTORY_QUERY, TimeChart } from '../components/chart.js'
import { Facts, LoadState, PageHeading, Section } from '../components/page.js'
import { Peek } from '../components/peek.js'
import { PublishForm } from '../components/publish-form.js'
import { DataTable } from '../components/table.js'
import { count, keyValues, rate } from '../format.js'
import { usePoll } from '../poll.js'
import { href, navigate } from '../router.js'
import { QUEUED_SERIES, queuedOf, RATE_SERIES, ratesOf } from './overview.js'

export function QueuePage({ vhost, name }: { vhost: string; name: string }) {
  const path = `/api/queues/${enc(vhost)}/${enc(name)}`
  const polled = usePoll(
    () =>
      Promise.all([
        get<Queue>(`${path}?${HISTORY_QUERY}`),
        get<Binding[]>(`${path}/bindings`),
        get<Consumer[]>(`/api/consumers/${enc(vhost)}`).then((all) => all.filter((c) => c.queue.name === name)),
      ]),
    [path],
  )
  const [queue, bindings, consumers] = polled.data ?? []

  const purge = () =>
    confirmedAttempt(
      {
        title: 'Purge queue',
        message: `Remove all ${count(queue?.messages_ready)} ready messages from ${name}? This cannot be undone.`,
        confirmLabel: 'Purge messages',
      },
      `Could not purge ${name}`,
      async () => {
        await request('DELETE', `${path}/contents`)
        announce(`Queue ${name} purged.`)
        polled.reload()
      },
    )
  const remove = () =>
    confirmedAttempt(
      {
        title: 'Delete queue',
        message: `Delete the queue ${name} in vhost ${vhost} with its ${count(queue?.messages)} messages?`,
        confirmLabel: 'Delete queue',
      },
      `Could not delete ${name}`,
      async () => {
        await request('DELETE', path)
        navigate('queues')
        announce(`Queue ${name} deleted.`)
      },
    )

  return (
    <section>
      <p class="crumbs">
        <a href={href('queues')}>Queues</a> / {vhost}
      </p>
      <PageHeading title={name} kind="Queue">
        <button type="button" onClick={() => void purge()}>
          Purge messages
        </button>
        <button type="button" class="danger" onClick={() => void remove()}>
          Delete queue
        </button>
      </PageHeading>
      <LoadState loading={polled.loading && !queue} error={polled.error} />
      {queue && (
        <>
          <ul class="totals" aria-label="Messages">
            {(
              [
                ['Ready', queue.messages_ready],
                ['Unacked', queue.messages_unacknowledged],
                ['Total', queue.messages],
                ['Consumers', queue.consumers],
              ] as const
            ).map(([label, n]) => (
              <li key={label}>
                <span class="total-number" data-total={label.toLowerCase()}>
                  {count(n)}
                </span>
                <span class="total-label">{label}</span>
              </li>
            ))}
          </ul>
          <div class="charts">
            <TimeChart
              title="Message rates"
              series={RATE_SERIES}
              history={ratesOf(queue.message_stats)}
              format={rate}
            />
            <TimeChart
              title="Queued messages"
              series={QUEUED_SERIES}
              history={queuedOf(queue as unknown as Record<string, unknown>)}
              format={count}
            />
          </div>
          <Facts
            items={[
              ['Virtual host', vhost],
              ['Type', queue.type],
              ['State', queue.state],
              ['Durable', queue.durable ? 'yes' : 'no'],
              ['Auto-delete', queue.auto_delete ? 'yes' : 'no'],
              ['Exclusive', queue.exclusive ? 'yes' : 'no'],
              ['Policy', queue.policy ?? '–'],
              ['Arguments', keyValues(queue.arguments) || '–'],
            ]}
          />
          <Section title="Messages">
            <Peek vhost={vhost} queue={name} onChange={polled.reload} />
          </Section>
          <Section title="Publish a message">
            <PublishForm vhost={vhost} exchange="" routingKey={name} onPublished={polled.reload} />
          </Section>
          <Section title="Consumers">
            <DataTable
              caption="Consumers"
              columns={[
                { key: 'consumer_tag', label: 'Consumer tag' },
                { key: 'channel', label: 'Channel', value: (c: Consumer) => c.channel_details.name },
                { key: 'user', label: 'User', value: (c: Consumer) => c.channel_details.user },
                { key: 'ack_required', label: 'Ack required' },
                { key: 'exclusive', label: 'Exclusive' },
                { key: 'prefetch_count', label: 'Prefetch', numeric: true },
                { key: 'arguments', label: 'Arguments', value: (c: Consumer) => keyValues(c.arguments) },
              ]}
              rows={consumers ?? []}
              rowKey={(c) => c.channel_details.name + c.consumer_tag}
              empty="No consumers."
            />
          </Section>
          <Section title="Bindings">
            <BindingsTable caption="Bindings" bindings={bindings ?? []} onChange={polled.reload} />
            <AddBinding vhost={vhost} queue={name} onAdded={polled.reload} />
          </Section>
        </>
      )}
    </section>
  )
}
