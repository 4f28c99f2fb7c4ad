// The application shell: the login form until the tab has credentials, then a header (navigation, the
// vhost every list is limited to, the refresh interval, the user and Logout) above the page the URL's
// hash names. On every page change focus moves to the page's heading, so keyboard and screen-reader users
// land on the new content.
import { useEffect, useMemo, useState } from 'preact/hooks'
import { get, logout, onSessionEnd, storedSession, type Session, type Vhost } from './api.js'
import { Announcer } from './components/announcer.js'
import { ConfirmDialog } from './components/confirm.js'
import { SelectField } from './components/forms.js'
import { href, useRoute, type Route } from './router.js'
import {
  REFRESH_CHOICES,
  SettingsContext,
  storeRefresh,
  storeVhost,
  storedRefresh,
  storedVhost,
  type Settings,
} from './settings.js'
import { Login } from './pages/login.js'
import { Overview } from './pages/overview.js'
import { Connections } from './pages/connections.js'
import { Channels } from './pages/channels.js'
import { Exchanges } from './pages/exchanges.js'
import { ExchangePage } from './pages/exchange.js'
import { Queues } from './pages/queues.js'
import { QueuePage } from './pages/queue.js'
import { Admin } from './pages/admin.js'
import { Definitions } from './pages/definitions.js'

const NAV: [page: string, label: string, adminOnly: boolean][] = [
  ['overview', 'Overview', false],
  ['connections', 'Connections', false],
  ['channels', 'Channels', false],
  ['exchanges', 'Exchanges', false],
  ['queues', 'Queues', false],
  ['admin', 'Admin', true],
  ['definitions', 'Definitions', true],
]

function Page({ route }: { route: Route }) {
  const [a, b] = route.args
  switch (route.page) {
    case 'connections':
      return <Connections />
    case 'channels':
      return <Channels />
    case 'exchanges':
      return a !== undefined && b !== undefined ? <ExchangePage vhost={a} name={b} /> : <Exchanges />
    case 'queues':
      return a !== undefined && b !== undefined ? <QueuePage vhost={a} name={b} /> : <Queues />
    case 'admin':
      return <Admin tab={a ?? 'users'} />
    case 'definitions':
      return <Definitions />
    case 'overview':
      return <Overview />
    default:
      return (
        <section>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            There is no page "{route.page}". <a href={href('overview')}>Go to the overview.</a>
          </p>
        </section>
      )
  }
}

function Shell({ session }: { session: Session }) {
  const route = useRoute()
  const [vhost, setVhost] = useState(storedVhost)
  const [refresh, setRefresh] = useState(storedRefresh)
  const [vhosts, setVhosts] = useState<string[]>([])
  const [vhostsVersion, setVhostsVersion] = useState(0)
  const admin = session.tags.includes('administrator')

  useEffect(() => {
    get<Vhost[]>('/api/vhosts').then(
      (list) => setVhosts(list.map((v) => v.name)),
      () => setVhosts([]),
    )
  }, [vhostsVersion])

  // A remembered vhost that is gone (or not visible to this user) falls back to all
  const current = vhost !== '' && vhosts.length > 0 && !vhosts.includes(vhost) ? '' : vhost

  const settings: Settings = useMemo(
    () => ({
      vhost: current,
      refresh,
      user: session.name,
      tags: session.tags,
      vhosts,
      reloadVhosts: () => setVhostsVersion((n) => n + 1),
    }),
    [current, refresh, session, vhosts],
  )

  const routeKey = `${route.page}/${route.args.join('/')}`
  useEffect(() => {
    const label = NAV.find(([p]) => p === route.page)?.[1] ?? 'Warren'
    document.title = `${route.args[1] ?? label} · Warren`
    const heading = document.querySelector<HTMLElement>('#main h1')
    heading?.focus({ preventScroll: true })
    window.scrollTo(0, 0)
  }, [routeKey])

  return (
    <SettingsContext.Provider value={settings}>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault()
          document.querySelector<HTMLElement>('#main h1')?.focus()
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('overview')}>
          <span class="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Warren
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.filter(([, , adminOnly]) => !adminOnly || admin).map(([page, label]) => (
              <li key={page}>
                <a href={href(page)} aria-current={route.page === page ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="tools">
          <SelectField
            inline
            label="Virtual host"
            value={current}
            onChange={(v) => {
              setVhost(v)
              storeVhost(v)
            }}
            options={[['', 'All'], ...vhosts]}
          />
          <SelectField
            inline
            label="Refresh"
            value={String(refresh)}
            onChange={(value) => {
              const ms = Number(value)
              setRefresh(ms)
              storeRefresh(ms)
            }}
            options={REFRESH_CHOICES.map((ms) => [String(ms), ms === 0 ? 'Off' : `${ms / 1000} s`] as const)}
          />
          <span class="user" title={session.tags.join(', ')}>
            {session.name}
          </span>
          <button type="button" onClick={() => logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main">
        <Page key={routeKey} route={route} />
      </main>
    </SettingsContext.Provider>
  )
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(storedSession)
  const [notice, setNotice] = useState<string | undefined>()
  useEffect(
    () =>
      onSessionEnd((reason) => {
        setSession(undefined)
        setNotice(reason ?? 'You have logged out.')
      }),
    [],
  )
  return (
    <>
      {session ? (
        <Shell session={session} />
      ) : (
        <Login
          notice={notice}
          onLogin={(s) => {
            setNotice(undefined)
            setSession(s)
          }}
        />
      )}
      <Announcer />
      <ConfirmDialog />
    </>
  )
}
