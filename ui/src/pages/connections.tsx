// Client connections of the selected vhost (all vhosts: every one the user may see), closable with a
// reason, as RabbitMQ's DELETE /api/connections/{name} closes them (320 CONNECTION_FORCED, the reason).
import { enc, get, request, type Connection } from '../api.js'
import { confirmedAttempt, dangerColumn } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { LoadState, PageHeading } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

const client = (c: Connection): string => {
  const p = c.client_properties
  const product = typeof p['product'] === 'string' ? p['product'] : ''
  const version = typeof p['version'] === 'string' ? p['version'] : ''
  return [product, version].filter((s) => s !== '').join(' ')
}

export function Connections() {
  const { vhost } = useSettings()
  const polled = usePoll(
    () => get<Connection[]>(vhost === '' ? '/api/connections' : `/api/vhosts/${enc(vhost)}/connections`),
    [vhost],
  )

  const close = (c: Connection) =>
    confirmedAttempt(
      {
        title: 'Close connection',
        message: `Close the connection ${c.name} of user ${c.user}? The client gets 320 CONNECTION_FORCED with the reason below.`,
        confirmLabel: 'Close connection',
        input: { label: 'Reason', value: 'Closed via management UI' },
      },
      `Could not close ${c.name}`,
      async (reason) => {
        await request('DELETE', `/api/connections/${enc(c.name)}`, undefined, { headers: { 'x-reason': reason } })
        announce(`Connection ${c.name} closed.`)
        polled.reload()
      },
    )

  const columns: Column<Connection>[] = [
    {
      key: 'name',
      label: 'Name',
      // As RabbitMQ's UI: the client's own name for the connection under the broker's
      render: (c) => (
        <>
          {c.name}
          {c.user_provided_name !== undefined && <div class="muted small">{c.user_provided_name}</div>}
        </>
      ),
    },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'user', label: 'User' },
    { key: 'client', label: 'Client', value: client },
    { key: 'protocol', label: 'Protocol' },
    { key: 'channels', label: 'Channels', numeric: true },
    { key: 'state', label: 'State' },
    dangerColumn('Close', (c) => `Close connection ${c.name}`, close),
  ]
  return (
    <section>
      <PageHeading title="Connections" />
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {polled.data && (
        <ClientTable
          caption="Connections"
          noun="connections"
          columns={columns}
          rows={polled.data}
          rowKey={(c) => c.name}
          filterText={(c) => `${c.name} ${c.user_provided_name ?? ''} ${c.user} ${client(c)}`}
          defaultSort={{ key: 'name', reverse: false }}
          empty="No client is connected."
        />
      )}
    </section>
  )
}
