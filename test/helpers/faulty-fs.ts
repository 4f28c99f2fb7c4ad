// A store file system that fails on demand: each operation of the write and read paths can be made to fail
// with a given errno until the fault is cleared, as a full disk, a dying disk or a process out of descriptors do.
import { nodeFileSystem, type StoreFileSystem } from '../../src/store/file-io.js'

export type FaultyOperation =
  'openAppend' | 'appendAll' | 'datasync' | 'truncate' | 'close' | 'openReadSync' | 'read' | 'readSync'

export interface FaultyFileSystem extends StoreFileSystem {
  /** Operations failing now, with the errno they fail with */
  readonly faults: Map<FaultyOperation, string>
  /** How many calls failed, by operation */
  readonly failures: Map<FaultyOperation, number>
  fail(operation: FaultyOperation, code: string): void
  clear(): void
}

export function errnoError(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected failure, ${syscall}`), { code, syscall })
}

export function faultyFileSystem(): FaultyFileSystem {
  const faults = new Map<FaultyOperation, string>()
  const failures = new Map<FaultyOperation, number>()
  const check = (operation: FaultyOperation): void => {
    const code = faults.get(operation)
    if (code === undefined) return
    failures.set(operation, (failures.get(operation) ?? 0) + 1)
    throw errnoError(code, operation)
  }
  return {
    ...nodeFileSystem,
    faults,
    failures,
    fail: (operation, code) => faults.set(operation, code),
    clear: () => faults.clear(),
    async openAppend(path) {
      check('openAppend')
      return nodeFileSystem.openAppend(path)
    },
    async appendAll(fd, buffers, position) {
      check('appendAll')
      return nodeFileSystem.appendAll(fd, buffers, position)
    },
    async datasync(fd) {
      check('datasync')
      return nodeFileSystem.datasync(fd)
    },
    async truncate(fd, length) {
      check('truncate')
      return nodeFileSystem.truncate(fd, length)
    },
    openReadSync(path) {
      check('openReadSync')
      return nodeFileSystem.openReadSync(path)
    },
    async read(fd, target, position) {
      check('read')
      return nodeFileSystem.read(fd, target, position)
    },
    readSync(fd, target, position) {
      check('readSync')
      return nodeFileSystem.readSync(fd, target, position)
    },
    async close(fd) {
      // The descriptor is released whatever close reports, as on Linux
      await nodeFileSystem.close(fd)
      check('close')
    },
  }
}
