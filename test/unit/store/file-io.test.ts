// The store's file operations on real files: appendAll writes every byte in order at the position given
// (over zeros written ahead, or past the end), whether the batch is small (written synchronously, on the
// event loop) or large (through libuv's thread pool), and a failure is a rejected promise either way, never an
// exception thrown at the caller.
import assert from 'node:assert/strict'
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { nodeFileSystem } from '../../../src/store/file-io.js'
import { withTempDir } from './store-helpers.js'

function chunks(count: number, bytes: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(bytes, (i % 250) + 1))
}

for (const [name, count, bytes] of [
  ['a small batch', 10, 100],
  ['a batch of a megabyte', 16, 64 * 1024],
] as const) {
  test(`appendAll writes ${name} whole and in order at the end of the data, over the zeros after it`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'file')
      const zeros = Buffer.alloc(4096)
      writeFileSync(path, Buffer.concat([Buffer.from('start'), zeros]))
      const fd = await nodeFileSystem.openAppend(path)
      try {
        const written = chunks(count, bytes)
        const total = count * bytes
        await nodeFileSystem.appendAll(fd, written, 5)
        await nodeFileSystem.appendAll(fd, [Buffer.from('end')], 5 + total)
        const expected = Buffer.concat([Buffer.from('start'), ...written, Buffer.from('end')])
        const file = readFileSync(path)
        assert.deepEqual(file.subarray(0, expected.length), expected)
        assert.ok(
          file.subarray(expected.length).every((byte) => byte === 0),
          'zeros after the data',
        )
      } finally {
        await nodeFileSystem.close(fd)
      }
    })
  })

  test(`appendAll of ${name} to a descriptor that cannot write rejects (EBADF)`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'file')
      writeFileSync(path, '')
      const fd = openSync(path, 'r')
      try {
        let promise: Promise<void> | undefined
        assert.doesNotThrow(() => (promise = nodeFileSystem.appendAll(fd, chunks(count, bytes), 0)))
        await assert.rejects(promise!, { code: 'EBADF' })
      } finally {
        closeSync(fd)
      }
    })
  })
}
