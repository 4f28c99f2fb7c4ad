// The overview: message rates and queued messages as live charts, object totals, and the node's facts
// (memory, disk, file descriptors, uptime, alarms, listeners), from /api/overview and /api/nodes.
import { get, type MessageStats, type NodeInfo, type Overview as OverviewData } from '../api.js'
import { gaugeSeries, HISTORY_QUERY, rateSeries, TimeChart } from '../components/chart.js'
import { Facts, LoadState, PageHeading, Section } from '../components/page.js'
import { bytes, count, duration, rate } from '../format.js'
import { usePoll } from '../poll.js'
import { href } from '../router.js'

export const RATE_SERIES = [
  { label: 'Publish', color: '#2563eb', stat: 'publish' },
  { label: 'Deliver / get', color: '#16a34a', stat: 'deliver_get' },
  { label: 'Ack', color: '#9333ea', stat: 'ack' },
  { label: 'Redeliver', color: '#dc2626', stat: 'redeliver' },
]
export const QUEUED_SERIES = [
  { label: 'Ready', color: '#2563eb' },
  { label: 'Unacked', color: '#ea580c' },
]

/** The rates chart's data from message_stats' samples */
export const ratesOf = (stats: MessageStats | undefined) =>
  rateSeries(RATE_SERIES.map((s) => stats?.[`${s.stat}_details`]))

/** The queued-messages chart's data from `messages_ready_details` and `messages_unacknowledged_details` */
export const queuedOf = (owner: Record<string, unknown> | undefined) =>
  gaugeSeries([owner?.['messages_ready_details'], owner?.['messages_unacknowledged_details']])

function usage(used: number | undefined, total: number | undefined, format: (n: number) => string) {
  if (used === undefined) return '–'
  if (total === undefined || total <= 0) return format(used)
  const pct = Math.min(100, (used / total) * 100)
  return (
    <span class="usage">
      {format(used)} of {format(total)}
      <meter min={0} max={total} value={used} aria-label={`${pct.toFixed(0)} percent`} />
    </span>
  )
}

export function Overview() {
  const polled = usePoll(
    () => Promise.all([get<OverviewData>(`/api/overview?${HISTORY_QUERY}`), get<NodeInfo[]>('/api/nodes')]),
    [],
  )
  const [ov, nodes] = polled.data ?? []
  const node = nodes?.[0]
  const alarms = [node?.mem_alarm ? 'memory' : '', node?.disk_free_alarm ? 'disk' : ''].filter((a) => a !== '')
  return (
    <section>
      <PageHeading title="Overview" />
      <LoadState loading={polled.loading && !ov} error={polled.error} />
      {ov && (
        <>
          {alarms.length > 0 && (
            <p class="alarm" role="alert">
              Resource alarm in effect: {alarms.join(' and ')}. Publishing connections are blocked.
            </p>
          )}
          <ul class="totals" aria-label="Totals">
            {(
              [
                ['Connections', ov.object_totals.connections, 'connections'],
                ['Channels', ov.object_totals.channels, 'channels'],
                ['Exchanges', ov.object_totals.exchanges, 'exchanges'],
                ['Queues', ov.object_totals.queues, 'queues'],
                ['Consumers', ov.object_totals.consumers, 'queues'],
                ['Messages', ov.queue_totals.messages, 'queues'],
              ] as const
            ).map(([label, n, page]) => (
              <li key={label}>
                <a href={href(page)}>
                  <span class="total-number">{count(n)}</span>
                  <span class="total-label">{label}</span>
                </a>
              </li>
            ))}
          </ul>
          <div class="charts">
            <TimeChart title="Message rates" series={RATE_SERIES} history={ratesOf(ov.message_stats)} format={rate} />
            <TimeChart
              title="Queued messages"
              series={QUEUED_SERIES}
              history={queuedOf(ov.queue_totals)}
              format={count}
            />
          </div>
          <div class="columns">
            <Section title="Node">
              <Facts
                items={[
                  ['Name', node?.name ?? ov.node],
                  [
                    'Version',
                    `${ov.product_name ?? 'Warren'} ${ov.product_version ?? ''} (RabbitMQ ${ov.rabbitmq_version ?? ''} API)`,
                  ],
                  ['Uptime', duration(node?.uptime)],
                  ['Memory', usage(node?.mem_used, node?.mem_limit, bytes)],
                  [
                    'Disk free',
                    node?.disk_free !== undefined
                      ? `${bytes(node.disk_free)} (alarm below ${bytes(node.disk_free_limit)})`
                      : `alarm below ${bytes(node?.disk_free_limit)}`,
                  ],
                  ['File descriptors', usage(node?.fd_used, node?.fd_total, count)],
                  ['Sockets', usage(node?.sockets_used, node?.sockets_total, count)],
                  ['Processors', node?.processors === undefined ? '–' : count(node.processors)],
                  ['Alarms', alarms.length === 0 ? 'none' : alarms.join(', ')],
                ]}
              />
            </Section>
            <Section title="Listeners">
              <table>
                <caption class="visually-hidden">Listeners</caption>
                <thead>
                  <tr>
                    <th scope="col">Protocol</th>
                    <th scope="col">Address</th>
                    <th scope="col" class="num">
                      Port
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {ov.listeners.map((l) => (
                    <tr key={`${l.protocol}:${l.port}`}>
                      <td>{l.protocol}</td>
                      <td>{l.ip_address}</td>
                      <td class="num">{l.port}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
          </div>
        </>
      )}
    </section>
  )
}
