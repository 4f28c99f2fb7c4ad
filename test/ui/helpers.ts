// The web UI's end-to-end tests: Warren in-process with its management listener (which serves the built UI
// from dist/ui), Debian's Chromium driven by playwright-core, and amqplib on the AMQP side. No mocks: real
// sockets, a real browser, the API the UI calls.
//
// Screenshots of each page go to a temporary folder, or to WARREN_UI_SCREENSHOTS (`npm run ui:screenshots`
// writes docs/ui/).
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import amqp from 'amqplib'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startBroker, type InProcessBroker, type StartOptions } from '../helpers/broker.js'
import { startManagementServer, type ManagementServer } from '../../src/management/api/server.js'

export const CHROMIUM = process.env['WARREN_CHROMIUM'] ?? '/usr/bin/chromium'

// Without the background-networking flags Chromium reaches for Google's services, which a closed network
// refuses; the sandbox needs user namespaces that containers often lack.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface UiBroker {
  broker: InProcessBroker
  api: ManagementServer
  /** http://127.0.0.1:PORT */
  base: string
  stop(): Promise<void>
}

export async function startUiBroker(options: StartOptions = {}): Promise<UiBroker> {
  const broker = await startBroker({ ...options, inProcess: true })
  const api = await startManagementServer(broker.broker, () => broker.connections, {
    port: 0,
    host: '127.0.0.1',
    amqpPort: broker.port,
  })
  return {
    broker,
    api,
    base: `http://127.0.0.1:${api.port}`,
    async stop() {
      await api.close()
      await broker.stop()
    },
  }
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
}

/** A fresh page (its own storage: a new tab of a new profile) at 1280x800 */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })
  // A step that waits longer than this failed (the UI answers in milliseconds here); 30 s would only slow
  // down the report
  context.setDefaultTimeout(10_000)
  return context.newPage()
}

/** Opens the UI and logs in; resolves once the main navigation shows */
export async function login(page: Page, base: string, user = 'guest', password = 'guest'): Promise<void> {
  await page.goto(base + '/')
  await page.getByLabel('Username').fill(user)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.getByRole('navigation', { name: 'Main' }).waitFor()
}

/** Goes to a page of the app by its hash route and waits for its heading */
export async function open(page: Page, hash: string, heading: string | RegExp): Promise<void> {
  await page.evaluate((h) => {
    location.hash = h
  }, hash)
  await page.getByRole('heading', { level: 1, name: heading }).waitFor()
}

const screenshotDir = (() => {
  let dir: string | undefined
  return () => {
    if (!dir) {
      const wanted = process.env['WARREN_UI_SCREENSHOTS']
      dir = wanted ? resolve(wanted) : mkdtempSync(join(tmpdir(), 'warren-ui-'))
      mkdirSync(dir, { recursive: true })
    }
    return dir
  }
})()

/** Saves a screenshot of the page as NAME.png (the viewport: the page's top, as a person first sees it) */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  // The caret and the notice fading out would make screenshots differ from run to run
  await page.screenshot({ path: join(screenshotDir(), `${name}.png`), fullPage, caret: 'hide', animations: 'disabled' })
}

export interface Traffic {
  stop(): Promise<void>
}

/**
 * A publisher and a consumer on `queue` for the charts to show: about 25 messages a second in a wave
 * (so the lines move), the consumer acking in batches every half second (so some stay unacked). Bounded:
 * it stops by itself after `maxSeconds`, and stop() ends it earlier.
 */
export async function startTraffic(url: string, queue: string, maxSeconds = 60): Promise<Traffic> {
  const conn = await amqp.connect(url, { clientProperties: { connection_name: `traffic ${queue}` } })
  const pub = await conn.createChannel()
  const sub = await conn.createChannel()
  await pub.assertQueue(queue)
  await sub.prefetch(20)
  const pending: amqp.ConsumeMessage[] = []
  await sub.consume(queue, (m) => {
    if (m) pending.push(m)
  })
  let tick = 0
  const maxTicks = maxSeconds * 5
  const publisher = setInterval(() => {
    if (++tick > maxTicks) return
    const n = 5 + Math.round(5 * Math.sin(tick / 15))
    for (let i = 0; i < n; i++) pub.sendToQueue(queue, Buffer.from(`event ${tick}.${i}`))
  }, 200)
  const acker = setInterval(() => {
    const last = pending[pending.length - 1]
    if (last) sub.ack(last, true)
    pending.length = 0
  }, 500)
  return {
    async stop() {
      clearInterval(publisher)
      clearInterval(acker)
      await conn.close().catch(() => undefined)
    },
  }
}

/** Waits until a chart (its figure's caption) draws at least `points` points */
export async function chartPoints(page: Page, caption: string, points: number): Promise<void> {
  await page.waitForFunction(
    ([c, n]) =>
      [...document.querySelectorAll('figure[data-points]')].some(
        (f) => f.querySelector('figcaption')?.textContent === c && Number(f.getAttribute('data-points')) >= Number(n),
      ),
    [caption, points] as const,
    { timeout: 30_000 },
  )
}
