// The page area's retry after a failed write: once the pause is over, one timer calls back the runs that
// kept chunks in memory (each once, however often it asked), not those that have nothing left to page.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { TransientPages, nodePageFileSystem, type PagingRetry } from '../../../src/store/transient-pages.js'
import { createLogger } from '../../../src/util/logger.js'
import { errnoError } from '../../helpers/faulty-fs.js'

test('after a failed write, the runs waiting are called back once the pause is over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'warren-pages-'))
  let failing = true
  const pages = new TransientPages(dir, createLogger('silent'), {
    fileSystem: {
      ...nodePageFileSystem,
      write: async (path, buffers) => {
        if (failing) throw errnoError('ENOSPC', 'write')
        return nodePageFileSystem.write(path, buffers)
      },
    },
  })
  pages.open()
  try {
    assert.equal(await pages.write(pages.newPath(), [Buffer.from('page')], 4), false)
    assert.equal(pages.usable(), false, 'writes pause')
    const calls: string[] = []
    let called!: () => void
    const done = new Promise<void>((resolve) => (called = resolve))
    const run = (name: string): PagingRetry => ({
      retryPaging() {
        assert.ok(pages.usable(), 'called once writes may go on')
        calls.push(name)
        if (name === 'a') called()
      },
    })
    const a = run('a')
    const b = run('b')
    pages.retryLater(a)
    pages.retryLater(b)
    pages.retryLater(a)
    // b's queue was emptied or deleted meanwhile
    pages.forget(b)
    failing = false
    // (the page area's timer does not keep the process alive: this test does, while it waits)
    const alive = setInterval(() => {}, 1000)
    await done.finally(() => clearInterval(alive))
    assert.deepEqual(calls, ['a'])
    assert.equal(await pages.write(pages.newPath(), [Buffer.from('page')], 4), true)
    assert.equal(pages.files, 1)
  } finally {
    pages.close()
    await rm(dir, { recursive: true, force: true })
  }
})
