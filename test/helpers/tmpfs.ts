// Small tmpfs file systems as data directories, for the tests of a full disk. Mounting needs root (CI runs
// as root); where it is not permitted the test is skipped with the reason, never passed silently.
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const mounted = new Set<string>()

/** Mounts a tmpfs of `size` (mount's syntax: '4m') on a new directory; null (the test skipped) if not permitted. */
export async function mountTmpfs(t: { skip(message: string): void }, size: string): Promise<string | null> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-tmpfs-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' })
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    t.skip(`SKIPPED: cannot mount a tmpfs as the data directory (needs root): ${String(error).split('\n')[0]}`)
    return null
  }
  mounted.add(dir)
  return dir
}

/** Unmounts (lazily if something still holds it) and removes the directory, so no test leaves a mount behind. */
export async function unmountTmpfs(dir: string): Promise<void> {
  if (!mounted.delete(dir)) return
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' })
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
  }
  await rm(dir, { recursive: true, force: true })
}

/** For an after hook: every tmpfs still mounted. */
export async function unmountAllTmpfs(): Promise<void> {
  for (const dir of [...mounted]) await unmountTmpfs(dir)
}
