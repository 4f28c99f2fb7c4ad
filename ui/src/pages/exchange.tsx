// One exchange: its settings and rates, its bindings both ways (with a form to bind), a publish form, and
// Delete (confirmed). The default exchange is addressed as amq.default, as in RabbitMQ's API.
import { enc, get, rateOf, request, type Binding, type Exchange } from '../api.js'
import { announce, failed } from '../components/announcer.js'
import { AddBinding, BindingsTable } from '../components/bindings.js'
import { confirmAction } from '../components/confirm.js'
import { Facts, LoadState, PageHeading, Section } from '../components/page.js'
import { PublishForm } from '../components/publish-form.js'
import { keyValues, rate } from '../format.js'
import { usePoll } from '../poll.js'
import { href, navigate } from '../router.js'
import { exchangeLabel } from './exchanges.js'

export function ExchangePage({ vhost, name }: { vhost: string; name: string }) {
  const path = `/api/exchanges/${enc(vhost)}/${enc(name)}`
  const polled = usePoll(
    () =>
      Promise.all([
        get<Exchange>(path),
        get<Binding[]>(`${path}/bindings/source`),
        get<Binding[]>(`${path}/bindings/destination`),
      ]),
    [path],
  )
  const [exchange, source, destination] = polled.data ?? []
  const realName = name === 'amq.default' ? '' : name
  const builtIn = realName === '' || realName.startsWith('amq.')

  const remove = async () => {
    const ok = await confirmAction({
      title: 'Delete exchange',
      message: `Delete the exchange ${name} in vhost ${vhost}, with its bindings?`,
      confirmLabel: 'Delete exchange',
    })
    if (ok === null) return
    try {
      await request('DELETE', path)
      announce(`Exchange ${name} deleted.`)
      navigate('exchanges')
    } catch (err) {
      failed(`Could not delete exchange ${name}`, err)
    }
  }

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
