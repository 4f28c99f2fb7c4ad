// A synchronous read that opens a file read-only while a commit is opening it for appending: the commit must
// write through a writable descriptor, not the read-only one (EBADF on every later commit).
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { AppendFile } from '../../../src/store/append-file.js'
import { nodeFileSystem, type StoreFileSystem } from '../../../src/store/file-io.js'

test('a read-only descriptor opened by readSync during a commit open is not used for writing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'warren-append-file-'))
  try {
    const path = join(dir, 'msgs.0')
    writeFileSync(path, 'on disk;')
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const io: StoreFileSystem = {
      ...nodeFileSystem,
      async openAppend(p) {
        await gate
        return nodeFileSystem.openAppend(p)
      },
    }
    const file = new AppendFile(path, 8, true, io, { enqueue: () => {} })
    file.appendBuffer(Buffer.from('appended'))
    const commit = file.write(file.takeForCommit()).then(async (length) => {
      await file.sync()
      file.markSynced(length)
    })
    // The commit waits in openAppend; a read of the synced bytes opens the file read-only meanwhile
    assert.equal(file.readSync(0, 8).toString(), 'on disk;')
    release()
    await commit
    assert.equal(readFileSync(path, 'utf8'), 'on disk;appended')
    assert.equal(file.readSync(8, 8).toString(), 'appended')
    await file.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
