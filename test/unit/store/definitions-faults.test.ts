// Faults of definitions.log: a compaction that fails (disk full) keeps the old log and is tried again later,
// without leaking its descriptor; a change whose line cannot be written throws, is not applied (not in the
// next compaction) and leaves no trace in the file; appends resume by themselves once writes work again.
import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  DefinitionsLog,
  nodeDefinitionsFileSystem,
  type DefinitionChange,
  type DefinitionsFileSystem,
} from '../../../src/store/definitions-log.js'
import { errnoError } from '../../helpers/faulty-fs.js'
import { capturingLogger, withTempDir } from './store-helpers.js'

type Operation = 'open' | 'write' | 'datasync' | 'sync' | 'truncate' | 'rename'

/** A file system whose operations fail on demand, on the log or its temporary copy; it tracks open fds. */
function faultyDefinitionsFs() {
  const faults = new Map<string, string>()
  const paths = new Map<number, string>()
  const which = (path: string) => (path.endsWith('.tmp') ? 'tmp' : path.endsWith('.log') ? 'log' : 'dir')
  const check = (operation: Operation, path: string) => {
    const code = faults.get(`${operation}:${which(path)}`) ?? faults.get(`${operation}:*`)
    if (code !== undefined) throw errnoError(code, operation)
  }
  const fileSystem: DefinitionsFileSystem = {
    ...nodeDefinitionsFileSystem,
    open(path, flags) {
      check('open', path)
      const fd = nodeDefinitionsFileSystem.open(path, flags)
      paths.set(fd, path)
      return fd
    },
    write(fd, bytes, offset) {
      const code = faults.get(`write:${which(paths.get(fd)!)}`) ?? faults.get('write:*')
      if (code === undefined) return nodeDefinitionsFileSystem.write(fd, bytes, offset)
      // As a disk filling up: short writes (half of what is asked), then the errno at the last byte
      const half = Math.floor((bytes.length - offset) / 2)
      if (half === 0) throw errnoError(code, 'write')
      return nodeDefinitionsFileSystem.write(fd, bytes.subarray(0, offset + half), offset)
    },
    datasync(fd) {
      check('datasync', paths.get(fd)!)
      nodeDefinitionsFileSystem.datasync(fd)
    },
    sync(fd) {
      check('sync', paths.get(fd)!)
      nodeDefinitionsFileSystem.sync(fd)
    },
    truncate(fd, length) {
      check('truncate', paths.get(fd)!)
      nodeDefinitionsFileSystem.truncate(fd, length)
    },
    rename(from, to) {
      check('rename', from)
      nodeDefinitionsFileSystem.rename(from, to)
    },
    close(fd) {
      paths.delete(fd)
      nodeDefinitionsFileSystem.close(fd)
    },
  }
  return {
    fileSystem,
    /** `target`: the log, its temporary copy (compaction), the data directory, or any file */
    fail: (operation: Operation, code: string, target: 'log' | 'tmp' | 'dir' | '*' = '*') =>
      faults.set(`${operation}:${target}`, code),
    clear: () => faults.clear(),
    openFiles: () => [...paths.values()],
  }
}

const queue = (name: string): DefinitionChange => ({
  op: 'queue.add',
  queue: { vhost: '/', name, durable: true, autoDelete: false, arguments: '' },
})
const exchange = (name: string): DefinitionChange => ({
  op: 'exchange.add',
  exchange: { vhost: '/', name, type: 'direct', durable: true, autoDelete: false, internal: false, arguments: '' },
})

/** Opens the log again with the real file system, as the next start would. */
function reopen(dir: string) {
  const { log, warnings } = capturingLogger()
  const definitions = new DefinitionsLog(dir, log)
  const stored = definitions.open()
  definitions.close()
  return { stored, warnings: warnings().map((w) => w.msg), names: stored.queues.map((q) => q.name).sort() }
}

test('a compaction at start that fails (ENOSPC) keeps the log and starts; the fd is closed, appends go on', async () => {
  await withTempDir(async (dir) => {
    const first = new DefinitionsLog(dir, capturingLogger().log)
    first.open()
    first.record(queue('a'))
    first.record(queue('b'))
    first.close()
    const before = await readFile(join(dir, 'definitions.log'))

    const faulty = faultyDefinitionsFs()
    faulty.fail('write', 'ENOSPC', 'tmp')
    const { log, warnings } = capturingLogger()
    const definitions = new DefinitionsLog(dir, log, faulty.fileSystem)
    const stored = definitions.open()
    assert.deepEqual(stored.queues.map((q) => q.name).sort(), ['a', 'b'])
    assert.ok(
      warnings().some((w) => /compaction failed/.test(w.msg)),
      'the failure is logged as a warning',
    )
    assert.deepEqual(await readFile(join(dir, 'definitions.log')), before, 'the log is kept as it was')
    assert.deepEqual(await readdir(dir), ['definitions.log'], 'the partial copy is removed')
    assert.deepEqual(faulty.openFiles(), [join(dir, 'definitions.log')], 'only the log is open')

    definitions.record(queue('c'))
    faulty.clear()
    definitions.record(queue('d')) // compaction is tried again, and succeeds
    definitions.close()
    assert.deepEqual(faulty.openFiles(), [])
    const again = reopen(dir)
    assert.deepEqual(again.names, ['a', 'b', 'c', 'd'])
    assert.deepEqual(again.warnings, [])
  })
})

test('a failed compaction at start (EIO in fsync or rename, EMFILE in open) keeps the log, no descriptor leaked', async () => {
  for (const [operation, code] of [
    ['sync', 'EIO'],
    ['open', 'EMFILE'],
    ['rename', 'EIO'],
  ] as const) {
    await withTempDir(async (dir) => {
      const first = new DefinitionsLog(dir, capturingLogger().log)
      first.open()
      first.record(queue('a'))
      first.close()
      const faulty = faultyDefinitionsFs()
      faulty.fail(operation, code, 'tmp')
      const definitions = new DefinitionsLog(dir, capturingLogger().log, faulty.fileSystem)
      assert.deepEqual(
        definitions.open().queues.map((q) => q.name),
        ['a'],
        `${code} in ${operation}`,
      )
      assert.deepEqual(faulty.openFiles(), [join(dir, 'definitions.log')], `${code} in ${operation}: no fd leaked`)
      definitions.record(queue('b'))
      definitions.close()
      assert.deepEqual(reopen(dir).names, ['a', 'b'])
    })
  }
})

test('a torn last line, kept because compaction fails: the next append starts on a new line', async () => {
  await withTempDir(async (dir) => {
    const first = new DefinitionsLog(dir, capturingLogger().log)
    first.open()
    first.record(queue('a'))
    first.close()
    const path = join(dir, 'definitions.log')
    await writeFile(path, Buffer.concat([await readFile(path), Buffer.from('0123abcd {"op":"queue.ad')]))

    const faulty = faultyDefinitionsFs()
    faulty.fail('write', 'ENOSPC', 'tmp')
    const definitions = new DefinitionsLog(dir, capturingLogger().log, faulty.fileSystem)
    assert.deepEqual(
      definitions.open().queues.map((q) => q.name),
      ['a'],
    )
    definitions.record(queue('b'))
    definitions.close()
    const again = reopen(dir)
    assert.deepEqual(again.names, ['a', 'b'], 'the line appended after the torn one is read back')
    assert.equal(again.stored.damagedLines, 0)
  })
})

test('a complete last line without its newline, kept because compaction fails: appends do not glue to it', async () => {
  await withTempDir(async (dir) => {
    const first = new DefinitionsLog(dir, capturingLogger().log)
    first.open()
    first.record(queue('a'))
    first.close()
    const path = join(dir, 'definitions.log')
    const text = await readFile(path, 'utf8')
    await writeFile(path, text.slice(0, -1))

    const faulty = faultyDefinitionsFs()
    faulty.fail('open', 'ENOSPC', 'tmp')
    const definitions = new DefinitionsLog(dir, capturingLogger().log, faulty.fileSystem)
    assert.deepEqual(
      definitions.open().queues.map((q) => q.name),
      ['a'],
    )
    definitions.record(queue('b'))
    definitions.close()
    const again = reopen(dir)
    assert.deepEqual(again.names, ['a', 'b'])
    assert.equal(again.stored.damagedLines, 0)
  })
})

for (const [operation, code] of [
  ['write', 'ENOSPC'],
  ['datasync', 'EIO'],
] as const) {
  test(`a change whose line fails (${code} in ${operation}) throws, is not applied, leaves nothing in the log`, async () => {
    await withTempDir(async (dir) => {
      const faulty = faultyDefinitionsFs()
      const { log, warnings, lines } = capturingLogger()
      const definitions = new DefinitionsLog(dir, log, faulty.fileSystem)
      definitions.open()
      definitions.record(queue('kept'))
      const path = join(dir, 'definitions.log')
      const before = await readFile(path)

      faulty.fail(operation, code, 'log')
      assert.throws(() => definitions.record(queue('refused')), new RegExp(code))
      assert.throws(() => definitions.record(exchange('refused-too')), new RegExp(code))
      assert.deepEqual(await readFile(path), before, 'what the failed write left is cut off')
      assert.equal(warnings().filter((w) => /write failed/.test(w.msg)).length, 1, 'logged once')

      faulty.clear()
      definitions.record(queue('after'))
      assert.ok(lines.some((l) => /writes resumed/.test(l.msg)))
      definitions.close()
      const again = reopen(dir)
      assert.deepEqual(again.names, ['after', 'kept'], 'the refused change is not in the compacted log')
      assert.deepEqual(again.stored.exchanges, [])
      assert.deepEqual(again.warnings, [], 'no torn or damaged line')
    })
  })
}

test('a refused change is not in a compaction made later while running', async () => {
  await withTempDir(async (dir) => {
    const faulty = faultyDefinitionsFs()
    const definitions = new DefinitionsLog(dir, capturingLogger().log, faulty.fileSystem)
    definitions.open()
    faulty.fail('write', 'ENOSPC', 'log')
    assert.throws(() => definitions.record(queue('refused')), /ENOSPC/)
    faulty.clear()
    // Enough changes to compact while running (more than 2 × live + 1000 lines)
    for (let i = 0; i < 600; i++) {
      definitions.record(queue(`q${i}`))
      definitions.record({ op: 'queue.remove', vhost: '/', name: `q${i}` })
    }
    // The compaction happened: the log holds far fewer lines than were appended
    const lines = (await readFile(join(dir, 'definitions.log'), 'utf8')).split('\n').length
    assert.ok(lines < 1200, `compacted (${lines} lines)`)
    definitions.close()
    assert.deepEqual(reopen(dir).names, [])
  })
})

test('when cutting a failed line off fails too, the next append cuts it first', async () => {
  await withTempDir(async (dir) => {
    const faulty = faultyDefinitionsFs()
    const definitions = new DefinitionsLog(dir, capturingLogger().log, faulty.fileSystem)
    definitions.open()
    definitions.record(queue('kept'))
    faulty.fail('write', 'ENOSPC', 'log')
    faulty.fail('truncate', 'EIO', 'log')
    assert.throws(() => definitions.record(queue('refused')), /ENOSPC/)
    faulty.clear()
    faulty.fail('truncate', 'EIO', 'log')
    assert.throws(() => definitions.record(queue('refused-too')), /EIO/, 'nothing is appended after a torn line')
    faulty.clear()
    definitions.record(queue('after'))
    definitions.close()
    const again = reopen(dir)
    assert.deepEqual(again.names, ['after', 'kept'])
    assert.deepEqual(again.warnings, [])
  })
})

test('a compaction while running that fails: the change is kept, no fd leaked, compacted later', async () => {
  await withTempDir(async (dir) => {
    const faulty = faultyDefinitionsFs()
    const definitions = new DefinitionsLog(dir, capturingLogger().log, faulty.fileSystem)
    definitions.open()
    definitions.record(queue('first'))
    faulty.fail('write', 'ENOSPC', 'tmp')
    for (let i = 0; i < 600; i++) {
      definitions.record(queue(`q${i}`))
      definitions.record({ op: 'queue.remove', vhost: '/', name: `q${i}` })
    }
    definitions.record(queue('last'))
    assert.deepEqual(faulty.openFiles(), [join(dir, 'definitions.log')], 'no descriptor leaked')
    assert.ok(!(await readdir(dir)).includes('definitions.log.tmp'))
    faulty.clear()
    definitions.record(queue('after'))
    const lines = (await readFile(join(dir, 'definitions.log'), 'utf8')).split('\n').length
    assert.ok(lines < 10, `compacted once writes work (${lines} lines)`)
    definitions.close()
    assert.deepEqual(reopen(dir).names, ['after', 'first', 'last'])
  })
})

test('a start where even the log cannot be opened for appending (EMFILE): appends open it later', async () => {
  await withTempDir(async (dir) => {
    await mkdir(join(dir, 'unrelated'))
    const faulty = faultyDefinitionsFs()
    faulty.fail('open', 'EMFILE')
    const definitions = new DefinitionsLog(dir, capturingLogger().log, faulty.fileSystem)
    assert.deepEqual(definitions.open().queues, [])
    assert.throws(() => definitions.record(queue('refused')), /EMFILE/)
    faulty.clear()
    definitions.record(queue('after'))
    definitions.close()
    assert.deepEqual(reopen(dir).names, ['after'])
  })
})

test('after a compaction, nothing is appended until the directory holding the renamed log is synced', async () => {
  await withTempDir(async (dir) => {
    const first = new DefinitionsLog(dir, capturingLogger().log)
    first.open()
    first.record(queue('a'))
    first.close()
    const faulty = faultyDefinitionsFs()
    // The compaction's rename succeeds; syncing the directory and reopening the log fail
    faulty.fail('sync', 'EIO', 'dir')
    faulty.fail('open', 'EMFILE', 'log')
    const { log, warnings } = capturingLogger()
    const definitions = new DefinitionsLog(dir, log, faulty.fileSystem)
    assert.deepEqual(
      definitions.open().queues.map((q) => q.name),
      ['a'],
    )
    assert.ok(warnings().some((w) => /cannot reopen it after compaction/.test(w.msg)))
    assert.throws(() => definitions.record(queue('refused')), /EMFILE/)
    faulty.clear()
    faulty.fail('sync', 'EIO', 'dir')
    assert.throws(() => definitions.record(queue('refused-too')), /EIO/, 'not appended before the directory sync')
    faulty.clear()
    definitions.record(queue('b'))
    definitions.close()
    assert.deepEqual(faulty.openFiles(), [])
    const again = reopen(dir)
    assert.deepEqual(again.names, ['a', 'b'])
    assert.deepEqual(again.warnings, [])
  })
})
