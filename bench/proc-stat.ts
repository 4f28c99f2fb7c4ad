/** Linux /proc readers for CPU time and memory of processes and threads. */
import { readFileSync, readlinkSync } from 'node:fs'

/** Linux reports CPU time in ticks of 1/USER_HZ s; USER_HZ is 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100

/**
 * User + system CPU seconds from a /proc stat file, e.g. /proc/PID/stat or
 * /proc/self/task/TID/stat. Throws if the file cannot be read.
 */
export function readCpuSeconds(statPath: string): number {
  const stat = readFileSync(statPath, 'latin1')
  // Fields after the parenthesised command name, which may itself contain spaces;
  // utime and stime are fields 14 and 15 of the line, so 11 and 12 here
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND
}

export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1')
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  return match ? Number(match[1]) * 1024 : 0
}

/** The kernel's id for the calling thread, or null where /proc/thread-self is missing. */
export function currentOsThreadId(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    return Number.isSafeInteger(tid) ? tid : null
  } catch {
    return null
  }
}

/** CPU seconds used so far by a thread of this process, or null if it is gone. */
export function threadCpuSeconds(tid: number): number | null {
  try {
    return readCpuSeconds(`/proc/self/task/${tid}/stat`)
  } catch {
    return null
  }
}
