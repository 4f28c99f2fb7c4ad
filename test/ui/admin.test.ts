// The web UI in a real browser, the rest of the broker: the overview, connections (closed from the UI:
// amqplib's connection gets 320), channels, exchanges (created, bound, published to, deleted), the admin
// pages (a user made in the UI logs in), definitions export, and logout. Screenshots of each page.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
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
import { seriousViolations } from './axe.js'

describe('web UI: connections, exchanges, admin', () => {
  let ui: UiBroker
  let browser: Browser
  let page: Page
  let conn: amqp.ChannelModel
  let ch: amqp.Channel
  let traffic: Traffic

  before(async () => {
    ui = await startUiBroker()
    // Messages flowing all along, for the overview's charts
    traffic = await startTraffic(ui.broker.url, 'events')
    browser = await launchBrowser()
    page = await newPage(browser)
    conn = await amqp.connect(ui.broker.url, { clientProperties: { connection_name: 'ui-test' } })
    ch = await conn.createChannel()
    await ch.assertQueue('work', { durable: true })
    for (let i = 0; i < 20; i++) ch.sendToQueue('work', Buffer.from(`job ${i}`))
    await ch.prefetch(5)
    await ch.consume('work', () => undefined)
    await login(page, ui.base)
  })

  after(async () => {
    await traffic?.stop()
    await conn?.close().catch(() => undefined)
    await browser?.close()
    await ui?.stop()
  })

  test('overview: totals, charts and the node with its file descriptors and sockets', async () => {
    await open(page, '#/overview', 'Overview')
    const totals = page.getByRole('list', { name: 'Totals' })
    await totals.getByRole('link', { name: /^2\s*Connections$/ }).waitFor()
    await page.getByRole('figure', { name: 'Queued messages' }).locator('canvas').waitFor()
    await page.getByText('Uptime').waitFor()
    // Used of the limit, from /proc (fd) and the open AMQP connections (sockets)
    const fact = (name: string) =>
      page
        .locator('dl.facts > div')
        .filter({ has: page.getByRole('term').filter({ hasText: name }) })
        .getByRole('definition')
    await fact('Sockets')
      .filter({ hasText: /^2 of [\d,]+$/ })
      .waitFor()
    assert.match((await fact('File descriptors').textContent()) ?? '', /^\d[\d,]* of [\d,]+$/)
  })

  test('channels are listed with their prefetch and unacked messages', async () => {
    await open(page, '#/channels', 'Channels')
    // The test's consumer (prefetch 5) next to the traffic's (prefetch 20)
    const rows = page.getByRole('row').filter({ hasText: 'guest' })
    await rows.getByRole('cell', { name: '5', exact: true }).first().waitFor()
    await rows.getByRole('cell', { name: '20', exact: true }).first().waitFor()
    await screenshot(page, 'channels')
  })

  test('exchanges: create one, bind a queue, publish from its page, delete it', async () => {
    await ch.assertQueue('ui-sink')
    await open(page, '#/exchanges', 'Exchanges')
    const form = page.getByRole('form', { name: 'Add an exchange' })
    await form.getByLabel('Name').fill('ui-events')
    await form.getByLabel('Type').selectOption('fanout')
    await form.getByRole('button', { name: 'Add exchange' }).click()
    await page.getByRole('link', { name: 'ui-events', exact: true }).waitFor()
    await ch.checkExchange('ui-events')
    await screenshot(page, 'exchanges')

    await page.getByRole('link', { name: 'ui-events', exact: true }).click()
    await page.getByRole('heading', { level: 1, name: /ui-events/ }).waitFor()
    const bind = page.getByRole('form', { name: 'Add a binding' })
    await bind.getByLabel('To queue').fill('ui-sink')
    await bind.getByRole('button', { name: 'Bind' }).click()
    await page.getByRole('cell', { name: 'ui-sink (queue)' }).waitFor()

    const publish = page.getByRole('form', { name: 'Publish a message' })
    await publish.getByLabel('Routing key').fill('any')
    await publish.getByLabel('Delivery mode').selectOption('2')
    await publish.getByLabel('Payload', { exact: true }).fill('through the exchange')
    await publish.getByRole('button', { name: 'Publish message' }).click()
    await page.getByRole('status').filter({ hasText: 'Message published.' }).waitFor()
    const got = await ch.get('ui-sink', { noAck: true })
    assert.ok(got)
    assert.equal(got.content.toString(), 'through the exchange')
    assert.equal(got.fields.exchange, 'ui-events')
    assert.equal(got.properties.deliveryMode, 2)
    await screenshot(page, 'exchange-bindings')

    await page.getByRole('button', { name: 'Delete exchange' }).click()
    await page.getByRole('dialog', { name: 'Delete exchange' }).getByRole('button', { name: 'Delete exchange' }).click()
    await page.getByRole('heading', { level: 1, name: 'Exchanges' }).waitFor()
    await page.getByRole('status').filter({ hasText: 'Exchange ui-events deleted.' }).waitFor()
    const probe = await conn.createChannel()
    probe.on('error', () => undefined)
    await assert.rejects(probe.checkExchange('ui-events'), /404/)
    // The default exchange's page: asking for its history starts the broker sampling it (its chart is
    // checked at the end, once there are samples)
    await open(page, '#/exchanges/%2F/amq.default', '(AMQP default)')
    await page.getByRole('figure', { name: 'Message rates' }).waitFor()
  })

  test('admin: add a user, give it permissions, a policy and a limit; log in as that user', async () => {
    await open(page, '#/admin/users', 'Users')
    const add = page.getByRole('form', { name: 'Add a user' })
    await add.getByLabel('Username').fill('alice')
    await add.getByLabel('Password').fill('s3cret')
    await add.getByLabel('monitoring').check()
    await add.getByRole('button', { name: 'Add user' }).click()
    await page.getByRole('cell', { name: 'alice', exact: true }).waitFor()
    await page.getByRole('cell', { name: 'management, monitoring' }).waitFor()
    await screenshot(page, 'admin-users')

    await open(page, '#/admin/permissions', 'Permissions')
    const perms = page.getByRole('form', { name: 'Set permissions' })
    await perms.getByLabel('User').selectOption('alice')
    await perms.getByLabel('Write regexp').fill('^ui-')
    await perms.getByRole('button', { name: 'Set permissions' }).click()
    await page.getByRole('cell', { name: '^ui-' }).waitFor()
    assert.deepEqual(ui.broker.broker.permissions.get('alice', '/'), { configure: '.*', write: '^ui-', read: '.*' })
    await screenshot(page, 'admin-permissions')

    await open(page, '#/admin/vhosts', 'Virtual hosts')
    const vh = page.getByRole('form', { name: 'Add a virtual host' })
    await vh.getByLabel('Name').fill('staging')
    await vh.getByLabel('Description').fill('pre-production')
    await vh.getByRole('button', { name: 'Add virtual host' }).click()
    await page.getByRole('cell', { name: 'staging', exact: true }).waitFor()
    await screenshot(page, 'admin-vhosts')

    await open(page, '#/admin/policies', 'Policies')
    const policy = page.getByRole('form', { name: 'Add or update a policy' })
    await policy.getByLabel('Name').fill('cap')
    await policy.getByLabel('Pattern').fill('^work$')
    await policy.getByLabel('Definition').fill('max-length=1000')
    await policy.getByRole('button', { name: 'Set policy' }).click()
    await page.getByRole('cell', { name: 'max-length=1000' }).waitFor()
    await screenshot(page, 'admin-policies')

    await open(page, '#/admin/limits', 'Limits')
    const limit = page.getByRole('form', { name: 'Set a limit' })
    await limit.getByLabel('Limit', { exact: true }).selectOption('max-queues')
    await limit.getByLabel('Value (-1: no limit)').fill('500')
    await limit.getByRole('button', { name: 'Set limit' }).click()
    await page.getByRole('cell', { name: '500' }).waitFor()
    await screenshot(page, 'admin-limits')

    // The new user, in a tab of its own: it logs in, sees no Admin section (not an administrator)
    const other = await newPage(browser)
    await login(other, ui.base, 'alice', 's3cret')
    await other.getByRole('banner').getByText('alice', { exact: true }).waitFor()
    assert.equal(await other.getByRole('link', { name: 'Admin' }).count(), 0)
    await open(other, '#/queues', 'Queues')
    await other.getByRole('link', { name: 'work', exact: true }).waitFor()
    await other.context().close()
  })

  test('admin: topic permissions set and cleared, an operator policy (only operator keys), a limit edited in place', async () => {
    const b = ui.broker.broker
    await open(page, '#/admin/permissions', 'Permissions')
    const topic = page.getByRole('form', { name: 'Set topic permissions' })
    await topic.getByLabel('User').selectOption('alice')
    await topic.getByLabel('Exchange').fill('amq.topic')
    await topic.getByLabel('Write regexp').fill('^orders\\.')
    await topic.getByLabel('Read regexp').fill('^orders\\.eu\\.')
    await topic.getByRole('button', { name: 'Set topic permissions' }).click()
    await page.getByRole('cell', { name: '^orders\\.eu\\.' }).waitFor()
    assert.deepEqual(
      b.permissions
        .listTopic()
        .map(({ user, vhost, exchange, write, read }) => ({ user, vhost, exchange, write, read })),
      [{ user: 'alice', vhost: '/', exchange: 'amq.topic', write: '^orders\\.', read: '^orders\\.eu\\.' }],
    )
    await screenshot(page, 'admin-topic-permissions')
    await page.getByRole('button', { name: 'Clear topic permissions of alice in /' }).click()
    await page
      .getByRole('dialog', { name: 'Clear topic permissions' })
      .getByRole('button', { name: 'Clear topic permissions' })
      .click()
    await page.getByText('No topic permissions: routing keys are not checked.').waitFor()
    assert.deepEqual(b.permissions.listTopic(), [])

    await open(page, '#/admin/policies', 'Policies')
    const ops = page.getByRole('form', { name: 'Add or update an operator policy' })
    await ops.getByLabel('Name').fill('ops-cap')
    await ops.getByLabel('Pattern').fill('.*')
    // A user policy's key is refused for an operator policy, with RabbitMQ's reason
    await ops.getByLabel('Definition').fill('dead-letter-exchange=dlx')
    await ops.getByRole('button', { name: 'Set operator policy' }).click()
    await page.getByRole('alert').filter({ hasText: 'are not recognised policy settings' }).waitFor()
    await page.getByRole('alert').getByRole('button', { name: 'Dismiss' }).click()
    await ops.getByLabel('Definition').fill('max-length=100000\nmessage-ttl=3600000')
    await ops.getByRole('button', { name: 'Set operator policy' }).click()
    await page.getByRole('cell', { name: 'max-length=100000, message-ttl=3600000' }).waitFor()
    assert.deepEqual(b.vhosts.get('/')?.operatorPolicies.get('ops-cap')?.def.definition, {
      'max-length': 100000,
      'message-ttl': 3600000,
    })
    await screenshot(page, 'admin-operator-policies')

    await open(page, '#/admin/limits', 'Limits')
    const edit = page.getByRole('button', { name: 'Edit max-queues of vhost /' })
    await edit.click()
    const field = page.getByLabel('New value of max-queues of vhost / (-1: no limit)')
    // Focus goes to the field; Escape leaves the value as it was and returns to Edit
    assert.equal(await field.evaluate((el) => el === document.activeElement), true)
    await field.press('Escape')
    await page.waitForFunction(
      () => document.activeElement?.getAttribute('aria-label') === 'Edit max-queues of vhost /',
    )
    await edit.click()
    await field.fill('800')
    await screenshot(page, 'admin-limits-edit')
    await field.press('Enter')
    await page.getByRole('cell', { name: '800', exact: true }).waitFor()
    assert.deepEqual(b.limits.vhost('/'), { 'max-queues': 800 })
  })

  test('definitions: export downloads the broker as JSON', async () => {
    await open(page, '#/definitions', 'Definitions')
    await screenshot(page, 'definitions')
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download definitions' }).click(),
    ])
    assert.match(download.suggestedFilename(), /^warren-definitions-\d{4}-\d\d-\d\d\.json$/)
    const defs = JSON.parse(await readFile(await download.path(), 'utf8')) as {
      users: { name: string }[]
      queues: { name: string }[]
      vhosts: { name: string }[]
      policies: { name: string }[]
    }
    assert.ok(defs.users.some((u) => u.name === 'alice'))
    assert.ok(defs.queues.some((q) => q.name === 'work'))
    assert.ok(defs.vhosts.some((v) => v.name === 'staging'))
    assert.ok(defs.policies.some((p) => p.name === 'cap'))
  })

  test('connections: close one from the UI; amqplib sees 320 CONNECTION_FORCED with the reason', async () => {
    const victim = await amqp.connect(ui.broker.url, { clientProperties: { connection_name: 'victim' } })
    // amqplib reports a close by the server as 'close' with the error (and 'error' only with listeners' luck)
    victim.on('error', () => undefined)
    const closed = new Promise<Error>((resolve) => victim.on('close', resolve))
    await open(page, '#/connections', 'Connections')
    await page
      .getByRole('button', { name: /^Close connection/ })
      .nth(1)
      .waitFor()
    await screenshot(page, 'connections')
    const name = connectionName(ui, victim)
    // The client's own name for it (connection_name) is shown under the broker's, as in RabbitMQ's UI
    await page.getByRole('row').filter({ hasText: name }).filter({ hasText: 'victim' }).waitFor()
    await page.getByRole('button', { name: `Close connection ${name}` }).click()
    const dialog = page.getByRole('dialog', { name: 'Close connection' })
    await dialog.getByLabel('Reason').fill('maintenance from the UI')
    await dialog.getByRole('button', { name: 'Close connection' }).click()
    const error = (await closed) as Error & { code?: number }
    assert.equal(error.code, 320)
    assert.match(error.message, /maintenance from the UI/)
    await page
      .getByRole('status')
      .filter({ hasText: `Connection ${name} closed.` })
      .waitFor()
  })

  test('accessibility: axe-core finds nothing serious or critical on any page, light or dark, logged in with data', async () => {
    const a11y = await newPage(browser, { bypassCSP: true })
    const found: string[] = []
    const check = async (where: string) => {
      for (const v of await seriousViolations(a11y)) found.push(`${where}: ${v}`)
    }
    // The login form, with a refusal showing
    await a11y.goto(ui.base + '/')
    await a11y.getByLabel('Username').fill('guest')
    await a11y.getByLabel('Password').fill('wrong')
    await a11y.getByRole('button', { name: 'Log in' }).click()
    await a11y.getByRole('alert').filter({ hasText: 'Wrong username or password.' }).waitFor()
    await check('login')
    await login(a11y, ui.base)
    const pages: [hash: string, heading: string | RegExp, ready?: () => Promise<void>][] = [
      [
        '#/overview',
        'Overview',
        () => a11y.getByRole('figure', { name: 'Queued messages' }).locator('canvas').waitFor(),
      ],
      [
        '#/connections',
        'Connections',
        () =>
          a11y
            .getByRole('button', { name: /^Close connection/ })
            .first()
            .waitFor(),
      ],
      ['#/channels', 'Channels', () => a11y.getByRole('cell', { name: '5', exact: true }).first().waitFor()],
      ['#/exchanges', 'Exchanges', () => a11y.getByRole('link', { name: 'amq.topic', exact: true }).first().waitFor()],
      [
        '#/exchanges/%2F/amq.topic',
        /amq\.topic/,
        () => a11y.getByRole('form', { name: 'Publish a message' }).waitFor(),
      ],
      ['#/queues', 'Queues', () => a11y.getByRole('link', { name: 'work', exact: true }).waitFor()],
      ['#/queues/%2F/work', /work/, () => a11y.getByRole('figure', { name: 'Message rates' }).waitFor()],
      ['#/admin/users', 'Users', () => a11y.getByRole('cell', { name: 'alice', exact: true }).waitFor()],
      ['#/admin/vhosts', 'Virtual hosts', () => a11y.getByRole('cell', { name: 'staging', exact: true }).waitFor()],
      ['#/admin/permissions', 'Permissions', () => a11y.getByRole('cell', { name: '^ui-' }).waitFor()],
      [
        '#/admin/policies',
        'Policies',
        () => a11y.getByRole('cell', { name: 'ops-cap', exact: true }).first().waitFor(),
      ],
      ['#/admin/limits', 'Limits', () => a11y.getByRole('cell', { name: '800', exact: true }).waitFor()],
      ['#/definitions', 'Definitions'],
    ]
    for (const scheme of ['light', 'dark'] as const) {
      await a11y.emulateMedia({ colorScheme: scheme })
      for (const [hash, heading, ready] of pages) {
        await open(a11y, hash, heading)
        await ready?.()
        await check(`${scheme} ${hash}`)
      }
      // The queue page with peeked messages (text, JSON, hex), a limit being edited, a confirmation open
      await open(a11y, '#/queues/%2F/work', /work/)
      await a11y.getByRole('button', { name: 'Peek messages' }).click()
      await a11y.getByRole('heading', { name: /^Peeked/ }).waitFor()
      await a11y.getByRole('group', { name: 'Show payloads as' }).getByText('Hex', { exact: true }).click()
      await check(`${scheme} peeked messages`)
      await open(a11y, '#/admin/limits', 'Limits')
      await a11y.getByRole('button', { name: 'Edit max-queues of vhost /' }).click()
      await check(`${scheme} limit edited in place`)
      await open(a11y, '#/queues/%2F/work', /work/)
      await a11y.getByRole('button', { name: 'Purge messages' }).click()
      await a11y.getByRole('dialog', { name: 'Purge queue' }).waitFor()
      await check(`${scheme} confirmation dialog`)
      await a11y.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    }
    await a11y.context().close()
    assert.deepEqual(found, [])
  })

  test("a fresh tab shows the last minutes at once: the charts come from the server's history", async () => {
    const fresh = await newPage(browser)
    await login(fresh, ui.base)
    await open(fresh, '#/overview', 'Overview')
    // Drawn from the first answer's samples (the broker samples the overview every 5 s), not collected
    await chartPoints(fresh, 'Message rates', 2)
    await chartPoints(fresh, 'Queued messages', 3)
    await screenshot(fresh, 'overview')
    // The default exchange, watched since the exchanges test, carries the traffic's publishes
    await open(fresh, '#/exchanges/%2F/amq.default', '(AMQP default)')
    await chartPoints(fresh, 'Message rates', 2)
    await screenshot(fresh, 'exchange')
    await fresh.context().close()
  })

  test('logout returns to the login form and forgets the credentials', async () => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByText('You have logged out.').waitFor()
    assert.equal(await page.evaluate(() => sessionStorage.getItem('warren.auth')), null)
    await page.reload()
    await page.getByRole('button', { name: 'Log in' }).waitFor()
  })
})

/** The broker's name of an amqplib connection (RabbitMQ's "client:port -> server:port"), found by its port */
function connectionName(ui: UiBroker, c: amqp.ChannelModel): string {
  const socket = (c.connection as unknown as { stream: { localAddress: string; localPort: number } }).stream
  const client = `${socket.localAddress}:${socket.localPort}`
  const name = [...ui.broker.connections].map((x) => x.name).find((n) => n === client || n.startsWith(client + ' '))
  assert.ok(name, `no connection from ${client}`)
  return name
}
