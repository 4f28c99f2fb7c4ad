// The UI's file server (src/management/ui.ts) without a browser: a build without the UI says so at `/`, and
// no path leaves the UI's folder.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveUi, uiFileOf } from '../../src/management/ui.js'

describe('web UI files', () => {
  let empty: string
  let server: Server
  let base: string

  before(async () => {
    empty = await mkdtemp(join(tmpdir(), 'warren-ui-empty-'))
    server = createServer((req, res) => void serveUi(res, req.url ?? '/', req.method === 'HEAD', empty))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rm(empty, { recursive: true, force: true })
  })

  test('without a built UI, / says so in plain text', async () => {
    const res = await fetch(base + '/')
    assert.equal(res.status, 404)
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
    assert.match(await res.text(), /web UI is not part of this build: dist\/ui is missing.*\/api\//s)
    assert.equal(await (await fetch(base + '/assets/app.js')).text(), 'Not found\n')
  })

  test('paths cannot leave the folder', () => {
    const root = '/srv/ui'
    assert.equal(uiFileOf('/', root), '/srv/ui/index.html')
    assert.equal(uiFileOf('/assets/index-abc.js', root), '/srv/ui/assets/index-abc.js')
    for (const path of [
      '/../etc/passwd',
      '/assets/%2e%2e/%2e%2e/etc/passwd',
      '/assets/..%2f..%2fx',
      '/a%5c..%5cb',
      '/%00',
      '/%zz',
    ])
      assert.equal(uiFileOf(path, root), undefined, path)
  })
})
