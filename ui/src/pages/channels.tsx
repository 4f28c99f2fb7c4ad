// Channels of the open connections (of the selected vhost), with their prefetch, unacked messages and modes.
import { enc, get, type Channel } from '../api.js'
import { LoadState, PageHeading } from '../components/page.js'
import { ClientTable, type Column } from '../components/table.js'
import { usePoll } from '../poll.js'
import { useSettings } from '../settings.js'

const mode = (c: Channel): string =>
  [c.confirm ? 'confirm' : '', c.transactional ? 'tx' : ''].filter((s) => s !== '').join(', ')

export function Channels() {
  const { vhost } = useSettings()
  const polled = usePoll(
    () => get<Channel[]>(vhost === '' ? '/api/channels' : `/api/vhosts/${enc(vhost)}/channels`),
    [vhost],
  )
  const columns: Column<Channel>[] = [
    { key: 'name', label: 'Channel' },
    { key: 'vhost', label: 'Virtual host' },
    { key: 'user', label: 'User' },
    { key: 'mode', label: 'Mode', value: mode },
    { key: 'consumer_count', label: 'Consumers', numeric: true },
    { key: 'prefetch_count', label: 'Prefetch', numeric: true },
    { key: 'global_prefetch_count', label: 'Global prefetch', numeric: true },
    { key: 'messages_unacknowledged', label: 'Unacked', numeric: true },
    { key: 'state', label: 'State' },
  ]
  return (
    <section>
      <PageHeading title="Channels" />
      <LoadState loading={polled.loading && !polled.data} error={polled.error} />
      {polled.data && (
        <ClientTable
          caption="Channels"
          noun="channels"
          columns={columns}
          rows={polled.data}
          rowKey={(c) => c.name}
          filterText={(c) => `${c.name} ${c.user}`}
          defaultSort={{ key: 'name', reverse: false }}
          empty="No channel is open."
        />
      )}
    </section>
  )
}
