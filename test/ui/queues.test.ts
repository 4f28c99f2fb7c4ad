// The web UI in a real browser, queues side: logging in, a queue made over AMQP seen with its message
// count, publishing from a queue page and consuming with amqplib, peeking without side effects (checked
// with amqplib: same order, redelivered false), purging, and the queues list with 10,000 queues (paged,
// filtered and sorted by the server). Screenshots of each page on the way (helpers.ts).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import amqp from 'amqplib'
import type { Browser, Page } from 'playwright-core'
import {
  chartPoints,
  launchBrowser,
  login,
  newPage,
  open,
  screenshot,
  startTraffic,
  startUiBroker,
  type Traffic,
  type UiBroker,
} from './helpers.js'

describe('web UI: queues', () => {
  let ui: UiBroker
  let browser: Browser
  let page: Page
  let conn: amqp.ChannelModel
  let ch: amqp.Channel
  let traffic: Traffic

  before(async () => {
    ui = await startUiBroker()
    traffic = await startTraffic(ui.broker.url, 'live')
    browser = await launchBrowser()
    page = await newPage(browser)
    conn = await amqp.connect(ui.broker.url)
    ch = await conn.createChannel()
  })

  after(async () => {
    await traffic?.stop()
    await conn?.close().catch(() => undefined)
    await browser?.close()
    await ui?.stop()
  })

  test('the management listener serves the UI without credentials, and the API still asks for them', async () => {
    const index = await fetch(ui.base + '/')
    assert.equal(index.status, 200)
    assert.match(index.headers.get('content-type') ?? '', /^text\/html/)
    assert.equal(index.headers.get('cache-control'), 'no-cache')
    const html = await index.text()
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1]
    assert.ok(script, html)
    const asset = await fetch(`${ui.base}/${script}`)
    assert.equal(asset.status, 200)
    assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/)
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/)
    assert.equal((await fetch(ui.base + '/assets/missing.js')).status, 404)
    assert.equal((await fetch(ui.base + '/assets/%2e%2e/%2e%2e/package.json')).status, 404)
    const refused = await fetch(ui.base + '/api/overview')
    assert.equal(refused.status, 401)
    assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="RabbitMQ Management"')
    // The app's own calls: no WWW-Authenticate, so the browser puts up no password prompt over the page
    const fromApp = await fetch(ui.base + '/api/overview', { headers: { 'x-requested-with': 'XMLHttpRequest' } })
    assert.equal(fromApp.status, 401)
    assert.equal(fromApp.headers.get('www-authenticate'), null)
  })

  test('log in: a wrong password is refused with a message, the right one opens the overview', async () => {
    await page.goto(ui.base + '/')
    await page.getByRole('heading', { name: 'Warren' }).waitFor()
    await screenshot(page, 'login')
    await page.getByLabel('Username').fill('guest')
    await page.getByLabel('Password').fill('wrong')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor()
    await login(page, ui.base)
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
    await page.getByRole('heading', { name: 'Listeners' }).waitFor()
    assert.equal(await page.getByRole('cell', { name: 'amqp' }).count(), 1)
  })

  test('a queue page asks for its history, and the broker keeps sampling it for the next visit', async () => {
    await open(page, '#/queues/%2F/live', /live/)
    await page.getByRole('figure', { name: 'Queued messages' }).locator('canvas').waitFor()
    // One sample or none yet: a fixed recent window with a note, not an axis of years
    const firstPoints = Number(await page.getByRole('figure', { name: 'Message rates' }).getAttribute('data-points'))
    if (firstPoints < 2) await page.getByText('No history yet').first().waitFor()
  })

  test('a queue made over AMQP shows in the list with its message count', async () => {
    await ch.assertQueue('orders', { durable: true })
    for (let i = 0; i < 3; i++) ch.sendToQueue('orders', Buffer.from(`order ${i}`))
    await ch.assertQueue('invoices')
    await ch.checkQueue('orders')
    await open(page, '#/queues', 'Queues')
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'orders', exact: true }) })
    await row.getByRole('cell', { name: '3', exact: true }).first().waitFor()
    const cells = await row.getByRole('cell').allTextContents()
    // Name, Type, Features, Policy, Consumers, Ready, Unacked, Total (all vhosts: Virtual host too)
    assert.ok(cells.includes('orders'))
    assert.deepEqual(cells.slice(-6, -3), ['3', '0', '3'])
    await screenshot(page, 'queues')
  })

  test('publish from a queue page; amqplib consumes the message with its body and properties', async () => {
    await ch.assertQueue('ui-published')
    await open(page, '#/queues/%2F/ui-published', /ui-published/)
    const form = page.getByRole('form', { name: 'Publish a message' })
    await form.getByLabel('Content type').fill('application/json')
    await form.getByLabel('Headers').fill('source=web-ui\nattempt=2')
    await form.getByLabel('Other properties').fill('correlation_id=c-42')
    await form.getByLabel('Payload', { exact: true }).fill('{"hello":"from the UI"}')
    await form.getByRole('button', { name: 'Publish message' }).click()
    await page.getByRole('status').filter({ hasText: 'Message published.' }).waitFor()
    const got = await ch.get('ui-published', { noAck: true })
    assert.ok(got)
    assert.equal(got.content.toString(), '{"hello":"from the UI"}')
    assert.equal(got.properties.contentType, 'application/json')
    assert.equal(got.properties.correlationId, 'c-42')
    assert.equal(got.properties.deliveryMode, 1)
    assert.deepEqual(got.properties.headers, { source: 'web-ui', attempt: 2 })
    assert.equal(got.fields.redelivered, false)
  })

  test('peek at messages: text, JSON and hex views, and the queue is untouched (order, redelivered)', async () => {
    await ch.assertQueue('peeked')
    const bodies = [
      Buffer.from('plain text first'),
      Buffer.from('{"id":2,"items":["a","b"]}'),
      Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x41]),
    ]
    ch.sendToQueue('peeked', bodies[0]!, { contentType: 'text/plain' })
    ch.sendToQueue('peeked', bodies[1]!, { contentType: 'application/json', headers: { kind: 'order' } })
    ch.sendToQueue('peeked', bodies[2]!)
    await ch.checkQueue('peeked')
    await open(page, '#/queues/%2F/peeked', /peeked/)
    await page.locator('[data-total="ready"]', { hasText: '3' }).waitFor()
    await page.getByRole('button', { name: 'Peek messages' }).click()
    await page.getByRole('heading', { name: 'Message position 2' }).waitFor()
    const payloads = page.locator('pre.payload')
    assert.equal(await payloads.count(), 3)
    assert.equal(await payloads.nth(0).textContent(), 'plain text first')
    // The screenshots show the peeked messages, not the top of the page
    await page.getByRole('heading', { name: /^Peeked/ }).evaluate((h) => h.scrollIntoView())
    await screenshot(page, 'queue-peek-text')

    const views = page.getByRole('group', { name: 'Show payloads as' })
    await views.getByText('JSON', { exact: true }).click()
    await page.locator('pre.payload[data-view="json"]').first().waitFor()
    assert.equal(await payloads.nth(1).textContent(), JSON.stringify({ id: 2, items: ['a', 'b'] }, null, 2))
    await screenshot(page, 'queue-peek-json')

    await views.getByText('Hex', { exact: true }).click()
    await page.locator('pre.payload[data-view="hex"]').first().waitFor()
    assert.match((await payloads.nth(2).textContent()) ?? '', /^00000000 {2}00 01 fe ff 41 .*\|\.\.\.\.A\|$/)
    // One message's own choice beats the list's
    await page.getByRole('group', { name: 'Payload of message position 0 as' }).getByText('Text').click()
    assert.equal(await payloads.nth(0).textContent(), 'plain text first')
    await screenshot(page, 'queue-peek-hex')

    // The queue as amqplib sees it: the same three messages, in order, none redelivered
    for (const body of bodies) {
      const m = await ch.get('peeked', { noAck: false })
      assert.ok(m)
      assert.deepEqual(m.content, body)
      assert.equal(m.fields.redelivered, false)
      ch.ack(m)
    }
    assert.equal(await ch.get('peeked'), false)
  })

  test('purge a queue from its page, after confirming in a dialog', async () => {
    await ch.assertQueue('to-purge')
    for (let i = 0; i < 5; i++) ch.sendToQueue('to-purge', Buffer.from(String(i)))
    await ch.checkQueue('to-purge')
    await open(page, '#/queues/%2F/to-purge', /to-purge/)
    await page.locator('[data-total="ready"]', { hasText: '5' }).waitFor()
    await page.getByRole('button', { name: 'Purge messages' }).click()
    const dialog = page.getByRole('dialog', { name: 'Purge queue' })
    await dialog.waitFor()
    // Cancel is the default: nothing happens
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    assert.equal((await ch.checkQueue('to-purge')).messageCount, 5)
    await page.getByRole('button', { name: 'Purge messages' }).click()
    await dialog.getByRole('button', { name: 'Purge messages' }).click()
    await page.getByRole('status').filter({ hasText: 'Queue to-purge purged.' }).waitFor()
    await page.locator('[data-total="ready"]', { hasText: /^0$/ }).waitFor()
    assert.equal((await ch.checkQueue('to-purge')).messageCount, 0)
  })

  test('coming back to a watched queue: its charts show the minutes since, at once', async () => {
    const fresh = await newPage(browser)
    await login(fresh, ui.base)
    await open(fresh, '#/queues/%2F/live', /live/)
    await chartPoints(fresh, 'Message rates', 2)
    await chartPoints(fresh, 'Queued messages', 3)
    await screenshot(fresh, 'queue')
    await fresh.context().close()
  })

  test('10,000 queues: one page at a time, filtered (substring and regex) and sorted by the server', async () => {
    const b = ui.broker.broker
    const vhost = b.createVhost('bulk')
    b.setPermission('guest', 'bulk', { configure: '.*', write: '.*', read: '.*' })
    const options = { durable: false, exclusive: false, autoDelete: false, arguments: {} }
    const owner = {}
    for (let i = 0; i < 10000; i++) vhost.declareQueue(`q-${String(i).padStart(5, '0')}`, options, false, owner)
    // A new vhost appears in the header's selector once the page is loaded again
    await page.reload()
    await page.getByRole('navigation', { name: 'Main' }).waitFor()
    await page.getByRole('banner').getByLabel('Virtual host').selectOption('bulk')
    await open(page, '#/queues', 'Queues')
    const pager = page.getByRole('navigation', { name: 'Pages of queues' })
    await pager.getByText('1–100 of 10,000 queues').waitFor()
    await pager.getByText('Page 1 of 100').waitFor()
    assert.equal(await page.locator('tbody tr').count(), 100)
    await pager.getByRole('button', { name: 'Next page' }).click()
    await pager.getByText('101–200 of 10,000 queues').waitFor()
    await page.getByRole('link', { name: 'q-00100', exact: true }).waitFor()
    // The top of the page, as a person first sees it: filter, column headers, first rows, paging
    await page.evaluate(() => window.scrollTo(0, 0))
    await screenshot(page, 'queues-10000')

    await page.getByLabel('Filter queues by name').fill('q-0999')
    await pager.getByText('1–10 of 10 queues (filtered from 10,000)').waitFor()
    await page.getByLabel('Regular expression').check()
    await page.getByLabel('Filter queues by name').fill('^q-0000[0-4]$')
    await pager.getByText('1–5 of 5 queues (filtered from 10,000)').waitFor()
    await page.getByLabel('Filter queues by name').fill('')
    await page.getByLabel('Regular expression').uncheck()
    await pager.getByText('1–100 of 10,000 queues').waitFor()

    // Sorting by name, descending: the last queue first
    const nameHeader = page.getByRole('columnheader', { name: /Name/ })
    assert.equal(await nameHeader.getAttribute('aria-sort'), 'ascending')
    await nameHeader.getByRole('button').click()
    await page.locator('tbody tr').first().getByRole('link', { name: 'q-09999' }).waitFor()
    assert.equal(await nameHeader.getAttribute('aria-sort'), 'descending')
    // The vhost choice is kept for the next visit
    await page.reload()
    await page.getByRole('navigation', { name: 'Main' }).waitFor()
    assert.equal(await page.getByRole('banner').getByLabel('Virtual host').inputValue(), 'bulk')
    await page.getByRole('banner').getByLabel('Virtual host').selectOption('')
  })
})
