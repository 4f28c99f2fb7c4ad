// One exchange: its settings and rates, its bindings both ways (with a form to bind), a publish form, and
// Delete (confirmed). The default exchange is addressed as amq.default, as in RabbitMQ's API. Its rate chart
// comes from the broker's history (asking for it starts the broker sampling this exchange, rates.ts).
import { enc, get, rateOf, request, type Binding, type Exchange } from '../api.js'
import { confirmedAttempt } from '../components/actions.js'
import { announce } from '../components/announcer.js'
import { AddBinding, BindingsTable } from '../components/bindings.js'
import { HISTORY_QUERY, rateSeries, TimeChart } from '../components/chart.js'
import { Facts, LoadState, PageHeading, Section } from '../components/page.js'
import { PublishForm } from '../components/publish-form.js'
import { keyValues, rate } from '../format.js'
import { usePoll } from '../poll.js'
import { href, navigate } from '../router.js'
import { exchangeLabel } from './exchanges.js'

const EXCHANGE_RATES = [
  { label: 'Published in', color: '#2563eb', stat: 'publish_in' },
  { label: 'Routed out', color: '#16a34a', stat: 'publish_out' },
]

export function ExchangePage({ vhost, name }: { vhost: string; name: string }) {
  const path = `/api/exchanges/${enc(vhost)}/${enc(name)}`
  const polled = usePoll(
    () =>
      Promise.all([
        get<Exchange>(`${path}?${HISTORY_QUERY}`),
        get<Binding[]>(`${path}/bindings/source`),
        get<Binding[]>(`${path}/bindings/destination`),
      ]),
    [path],
  )
  const [exchange, source, destination] = polled.data ?? []
  const realName = name === 'amq.default' ? '' : name
  const builtIn = realName === '' || realName.startsWith('amq.')

  const remove = () =>
    confirmedAttempt(
      {
        title: 'Delete exchange',
        message: `Delete the exchange ${name} in vhost ${vhost}, with its bindings?`,
        confirmLabel: 'Delete exchange',
      },
      `Could not delete exchange ${name}`,
      async () => {
        await request('DELETE', path)
        navigate('exchanges')
        announce(`Exchange ${name} deleted.`)
      },
    )

  return (
    <section>
      <p class="crumbs">
        <a href={href('exchanges')}>Exchanges</a> / {vhost}
      </p>
      <PageHeading title={exchangeLabel(realName)} kind="Exchange">
        {!builtIn && (
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete exchange
          </button>
        )}
      </PageHeading>
      <LoadState loading={polled.loading && !exchange} error={polled.error} />
      {exchange && (
        <>
          <Facts
            items={[
              ['Virtual host', vhost],
              ['Type', exchange.type],
              ['Durable', exchange.durable ? 'yes' : 'no'],
              ['Auto-delete', exchange.auto_delete ? 'yes' : 'no'],
              ['Internal', exchange.internal ? 'yes' : 'no'],
              ['Arguments', keyValues(exchange.arguments) || '–'],
              ['Rate in', rate(rateOf(exchange.message_stats, 'publish_in'))],
              ['Rate out', rate(rateOf(exchange.message_stats, 'publish_out'))],
            ]}
          />
          <div class="charts">
            <TimeChart
              title="Message rates"
              series={EXCHANGE_RATES}
              history={rateSeries(EXCHANGE_RATES.map((r) => exchange.message_stats?.[`${r.stat}_details`]))}
              format={rate}
            />
          </div>
          <Section title="Bindings from this exchange">
            <BindingsTable caption="Bindings from this exchange" bindings={source ?? []} onChange={polled.reload} />
            {realName !== '' && <AddBinding vhost={vhost} source={realName} onAdded={polled.reload} />}
          </Section>
          {(destination?.length ?? 0) > 0 && (
            <Section title="Bindings to this exchange">
              <BindingsTable
                caption="Bindings to this exchange"
                bindings={destination ?? []}
                onChange={polled.reload}
              />
            </Section>
          )}
          <Section title="Publish a message">
            <PublishForm vhost={vhost} exchange={realName} onPublished={polled.reload} />
          </Section>
        </>
      )}
    </section>
  )
}
