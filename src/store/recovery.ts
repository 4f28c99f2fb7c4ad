// Startup recovery of one queue directory: finds the complete records of each segment, skips a damaged
// record (resuming at the next valid one), cuts off a torn tail, applies the acks, and returns the live
// messages in order.
//
// Segments are read sequentially in 1 MiB reads; the messages returned are views into those read
// buffers (no copy per message). Nothing here throws for a damaged file: every problem is logged with
// the file it concerns, and recovery goes on with what can be read.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../util/logger.js'
import { AppendFile, type CommitQueue } from './append-file.js'
import { errorText } from './error-text.js'
import type { StoreFileSystem } from './file-io.js'
import {
  MIN_PAYLOAD_SIZE,
  RECORD_HEADER_SIZE,
  RepeatedBytesDecoder,
  RepeatedStringDecoder,
  checksumOf,
  decodePayload,
  payloadIsWellFormed,
  slotOfSegment,
  toPosition,
  RecordFields,
  type RecoveredMessage,
} from './record.js'
import {
  ACKS_PREFIX,
  ACK_ENTRY_SIZE,
  MSGS_PREFIX,
  RecordIndex,
  Segment,
  parseSegmentFileName,
  readAckEntry,
  segmentFileName,
} from './segment.js'

const READ_CHUNK = 1024 * 1024
/**
 * Read buffers of scans whose records went to a RecordSink (nothing points into them afterwards), for the
 * next such scan: recovering a hundred queues then allocates one buffer, not a hundred (V8 collects
 * garbage early for every few dozen megabytes of new buffers, however short-lived).
 */
const spareReadBuffers: Buffer[] = []

export const NAME_FILE = 'name'
/** Written by the broker at a clean shutdown: which ready messages had been delivered */
export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown.json'

export interface RecoveredQueue {
  /** Segments with live records, by id */
  segments: Segment[]
  /** Higher than any segment id seen on disk, so a new segment never meets an old acks file */
  nextSegmentId: number
  messages: RecoveredMessage[]
}

/** Where recovered messages go: an array, or a callback that takes each one as it is read. */
export interface MessageSink {
  push(message: RecoveredMessage): unknown
}

/**
 * Takes each recovered message as the fields of its record in the read buffer, nothing allocated per
 * message: for a caller that copies what it keeps (a broker recovering a million messages spends more on
 * short-lived message objects and Buffer views than on reading).
 */
export interface RecordSink {
  record(fields: RecordFields, position: number): void
}

export interface RecoveryContext {
  io: StoreFileSystem
  commits: CommitQueue
  log: Logger
}

/**
 * Recovers a queue directory. Messages go to the sink in order when one is given (so the caller can drop
 * what it does not keep in memory while reading), otherwise into result.messages.
 */
export async function recoverQueue(
  dir: string,
  context: RecoveryContext,
  sink?: MessageSink | RecordSink,
): Promise<RecoveredQueue> {
  const { log } = context
  const result: RecoveredQueue = { segments: [], nextSegmentId: 1, messages: [] }
  let names: string[]
  try {
    names = await fsp.readdir(dir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      log.error({ dir, err: errorText(error) }, 'cannot list queue directory; starting it empty')
    }
    return result
  }
  const msgsIds: number[] = []
  const acksIds = new Set<number>()
  for (const name of names) {
    const msgsId = parseSegmentFileName(name, MSGS_PREFIX)
    const acksId = parseSegmentFileName(name, ACKS_PREFIX)
    if (msgsId !== null) msgsIds.push(msgsId)
    else if (acksId !== null) acksIds.add(acksId)
    else if (name !== NAME_FILE && name !== CLEAN_SHUTDOWN_FILE && !name.startsWith(NAME_FILE + '.')) {
      log.warn({ file: join(dir, name) }, 'unexpected file in queue directory; ignored')
    }
  }
  msgsIds.sort((a, b) => a - b)
  let highestId = 0
  for (const id of msgsIds) highestId = Math.max(highestId, id)
  for (const id of acksIds) highestId = Math.max(highestId, id)
  result.nextSegmentId = highestId + 1

  let directoryChanged = false
  const slots = new Set<number>()
  for (const id of msgsIds) {
    const hasAcks = acksIds.delete(id)
    if (slots.has(slotOfSegment(id))) {
      // Never written by the store (it skips taken slots): positions of this segment would be ambiguous
      log.error(
        { file: join(dir, segmentFileName(MSGS_PREFIX, id)) },
        'segment id clashes with a live segment; skipped',
      )
      continue
    }
    const outcome = await recoverSegment(dir, id, hasAcks, context, sink ?? result.messages)
    if (outcome.changedDirectory) directoryChanged = true
    if (outcome.segment !== null) {
      result.segments.push(outcome.segment)
      slots.add(slotOfSegment(id))
    }
  }
  for (const id of acksIds) {
    // Acks of a segment whose messages file is gone (deleted just before a crash)
    directoryChanged = (await removeFile(join(dir, segmentFileName(ACKS_PREFIX, id)), log)) || directoryChanged
  }
  if (directoryChanged) {
    await context.io.syncDirectory(dir).catch((error: unknown) => {
      log.warn({ dir, err: errorText(error) }, 'cannot sync queue directory after recovery changes')
    })
  }
  return result
}

/**
 * Counts the unacked messages of a queue directory without changing any file: for a store that is kept
 * aside rather than recovered (see quarantine.ts).
 */
export async function countMessages(dir: string, log: Logger): Promise<number> {
  let names: string[]
  try {
    names = await fsp.readdir(dir)
  } catch (error) {
    log.error({ dir, err: errorText(error) }, 'cannot list queue directory')
    return 0
  }
  const acksIds = new Set(names.map((name) => parseSegmentFileName(name, ACKS_PREFIX)))
  let count = 0
  const counter = { push: () => count++ }
  for (const name of names) {
    const id = parseSegmentFileName(name, MSGS_PREFIX)
    if (id === null) continue
    const acks = acksIds.has(id)
      ? await readAcks(join(dir, segmentFileName(ACKS_PREFIX, id)), log, false)
      : { offsets: new Uint32Array(0) }
    await scanSegment(join(dir, name), id, acks.offsets, counter, log)
  }
  return count
}

async function removeFile(path: string, log: Logger): Promise<boolean> {
  try {
    await fsp.unlink(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    log.warn({ file: path, err: errorText(error) }, 'cannot remove file')
    return false
  }
}

/**
 * Reads an acks file into sorted offsets. Entries that fail their check are ignored (their records count
 * as unacked: redelivered, never lost); a partial entry or damaged entries at the end are cut off, so that
 * acks appended later are aligned and read. Zeros after the last entry are the space written ahead of the
 * entries (append-file.ts): neither damage nor cut off (later acks are written over them).
 */
async function readAcks(path: string, log: Logger, repair = true): Promise<{ offsets: Uint32Array; size: number }> {
  let bytes: Buffer
  try {
    bytes = await fsp.readFile(path)
  } catch (error) {
    log.error({ file: path, err: errorText(error) }, 'cannot read acks file; its messages count as unacked')
    return { offsets: new Uint32Array(0), size: 0 }
  }
  const whole = bytes.length - (bytes.length % ACK_ENTRY_SIZE)
  const offsets = new Uint32Array(whole / ACK_ENTRY_SIZE)
  let count = 0
  let validEnd = 0
  for (let at = 0; at < whole; at += ACK_ENTRY_SIZE) {
    const offset = readAckEntry(bytes, at)
    if (offset >= 0) {
      offsets[count++] = offset
      validEnd = at + ACK_ENTRY_SIZE
    }
  }
  // Where the zeros that end the file begin (never before the last valid entry, which may end in zeros)
  let zerosFrom = bytes.length
  while (zerosFrom > validEnd && bytes[zerosFrom - 1] === 0) zerosFrom--
  let damaged = 0
  let firstDamagedAt = -1
  for (let at = 0; at < whole && at < zerosFrom; at += ACK_ENTRY_SIZE) {
    if (readAckEntry(bytes, at) >= 0) continue
    if (damaged++ === 0) firstDamagedAt = at
  }
  if (damaged > 0 || zerosFrom !== validEnd) {
    log.warn(
      {
        file: path,
        damagedEntries: damaged,
        firstDamagedAt,
        partialBytes: zerosFrom > whole ? zerosFrom - whole : 0,
        cutFrom: zerosFrom === validEnd ? null : validEnd,
      },
      'acks file has damaged or partial entries; they are ignored (their messages count as unacked)',
    )
    if (repair && zerosFrom !== validEnd) await truncateDurably(path, validEnd, log)
  }
  const live = offsets.subarray(0, count)
  live.sort()
  return { offsets: live, size: validEnd }
}

async function truncateDurably(path: string, length: number, log: Logger): Promise<void> {
  try {
    const handle = await fsp.open(path, 'r+')
    try {
      await handle.truncate(length)
      await handle.datasync()
    } finally {
      await handle.close()
    }
  } catch (error) {
    log.error({ file: path, err: errorText(error) }, 'cannot truncate file')
  }
}

async function truncateQuietly(path: string, length: number, log: Logger): Promise<void> {
  try {
    await fsp.truncate(path, length)
  } catch (error) {
    log.warn({ file: path, err: errorText(error) }, 'cannot truncate the zeros after the data of a segment')
  }
}

interface SegmentOutcome {
  segment: Segment | null
  changedDirectory: boolean
}

async function recoverSegment(
  dir: string,
  id: number,
  hasAcks: boolean,
  context: RecoveryContext,
  messages: MessageSink | RecordSink,
): Promise<SegmentOutcome> {
  const { log, io, commits } = context
  const msgsPath = join(dir, segmentFileName(MSGS_PREFIX, id))
  const acksPath = join(dir, segmentFileName(ACKS_PREFIX, id))
  const acks = hasAcks ? await readAcks(acksPath, log) : { offsets: new Uint32Array(0), size: 0 }
  const scan = await scanSegment(msgsPath, id, acks.offsets, messages, log)

  if (scan.problem !== null && !scan.ioError) {
    log.warn(
      { file: msgsPath, offset: scan.validEnd, droppedBytes: scan.fileSize - scan.validEnd, reason: scan.problem },
      'segment has a torn or damaged record; it and everything after it in the segment are dropped',
    )
    await truncateDurably(msgsPath, scan.validEnd, log)
  } else if (scan.validEnd < scan.fileSize && !scan.ioError) {
    // Zeros written ahead of the data (a crash left them): given back, unsynced (if the cut is lost, the zeros
    // read as the end of the data again)
    await truncateQuietly(msgsPath, scan.validEnd, log)
  }
  const records = scan.records
  records.trim()
  if (records.fullyAcked && !scan.ioError) {
    // Nothing live: the files are removed (acks last, so a crash in between leaves no unacked record)
    const removedMsgs = await removeFile(msgsPath, log)
    const removedAcks = hasAcks && (await removeFile(acksPath, log))
    return { segment: null, changedDirectory: removedMsgs || removedAcks }
  }
  const segment = new Segment(
    id,
    new AppendFile(msgsPath, scan.validEnd, true, io, commits),
    new AppendFile(acksPath, acks.size, hasAcks, io, commits, { awaited: false }),
    records,
  )
  segment.retainFiles = scan.ioError
  return { segment, changedDirectory: false }
}

function isAllZeros(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buffer[i] !== 0) return false
  return true
}

/** Whether a complete record with a matching checksum and consistent fields starts at `at`. */
function isRecordAt(buffer: Buffer, at: number, end: number): boolean {
  if (at + RECORD_HEADER_SIZE + MIN_PAYLOAD_SIZE > end) return false
  const length = buffer.readUInt32BE(at)
  if (length < MIN_PAYLOAD_SIZE || at + RECORD_HEADER_SIZE + length > end) return false
  // The field lengths first: a few reads that reject almost any wrong offset before a checksum is computed
  if (!payloadIsWellFormed(buffer, at + RECORD_HEADER_SIZE, length)) return false
  return checksumOf(buffer, at + RECORD_HEADER_SIZE, length) === buffer.readUInt32BE(at + 4)
}

/**
 * Where the next valid record starts after a bad one at `start` (buffer indexes; `end` is the end of the
 * file), or -1 if none does. The bad record's own length, if it is intact, points right at the next record,
 * so that offset is tried first: scanning forward byte by byte could otherwise stop inside the bad
 * record's body at bytes that happen to form a record (a message whose body holds a stored record).
 */
function findNextRecord(buffer: Buffer, start: number, end: number): number {
  if (start + 4 <= end) {
    const claimed = start + RECORD_HEADER_SIZE + buffer.readUInt32BE(start)
    if (isRecordAt(buffer, claimed, end)) return claimed
  }
  for (let at = start + 1; at + RECORD_HEADER_SIZE + MIN_PAYLOAD_SIZE <= end; at++) {
    if (isRecordAt(buffer, at, end)) return at
  }
  return -1
}

interface SegmentScan {
  records: RecordIndex
  fileSize: number
  /** End of the last complete, valid record */
  validEnd: number
  /** Why the file ends early: what follows validEnd is cut off */
  problem: string | null
  /** The file could not be read (as opposed to holding bad data): it is left untouched */
  ioError: boolean
}

async function scanSegment(
  path: string,
  segmentId: number,
  ackedOffsets: Uint32Array,
  messages: MessageSink | RecordSink,
  log: Logger,
): Promise<SegmentScan> {
  const scan: SegmentScan = { records: new RecordIndex(), fileSize: 0, validEnd: 0, problem: null, ioError: false }
  let handle: fsp.FileHandle | null = null
  const recordSink = 'record' in messages ? messages : null
  let buffer = recordSink !== null ? (spareReadBuffers.pop() ?? Buffer.alloc(0)) : Buffer.alloc(0)
  try {
    handle = await fsp.open(path, 'r')
    const fileSize = (await handle.stat()).size
    scan.fileSize = fileSize
    scan.records = new RecordIndex(Math.min(1 << 16, Math.ceil(fileSize / 256)))
    const reader = handle
    let base = 0 // file offset of buffer[0]
    let filled = 0
    let p = 0
    let nextAck = 0
    const fields = new RecordFields()
    const decoders = {
      exchange: new RepeatedStringDecoder(),
      routingKey: new RepeatedStringDecoder(),
      properties: new RepeatedBytesDecoder(),
    }

    // Makes `need` bytes from p available in buffer; false if the file ended first
    const ensure = async (need: number): Promise<boolean> => {
      const kept = filled - p
      const size = Math.min(Math.max(READ_CHUNK, need), fileSize - base - p)
      // Messages returned point into the buffer, so each read gets a new one; a RecordSink copies what it
      // keeps, so one buffer serves the whole segment
      const next = recordSink !== null && buffer.length >= size ? buffer : Buffer.allocUnsafe(size)
      if (next === buffer) buffer.copyWithin(0, p, filled)
      else buffer.copy(next, 0, p, filled)
      base += p
      p = 0
      filled = kept
      buffer = next
      while (filled < next.length) {
        const { bytesRead } = await reader.read(next, filled, next.length - filled, base + filled)
        if (bytesRead === 0) break
        filled += bytesRead
      }
      return filled >= need
    }

    for (;;) {
      const recordOffset = base + p
      if (recordOffset === fileSize) break
      let problem: string
      checks: {
        if (fileSize - recordOffset < RECORD_HEADER_SIZE) {
          problem = 'incomplete record header at the end of the file'
          break checks
        }
        if (filled - p < RECORD_HEADER_SIZE && !(await ensure(RECORD_HEADER_SIZE))) {
          problem = 'file shorter than its size'
          break checks
        }
        const length = buffer.readUInt32BE(p)
        if (length < MIN_PAYLOAD_SIZE) {
          problem = `impossible record length ${length}`
          break checks
        }
        if (recordOffset + RECORD_HEADER_SIZE + length > fileSize) {
          problem = `record of ${length} bytes extends past the end of the file`
          break checks
        }
        const recordBytes = RECORD_HEADER_SIZE + length
        if (filled - p < recordBytes && !(await ensure(recordBytes))) {
          problem = 'file shorter than its size'
          break checks
        }
        const payloadStart = p + RECORD_HEADER_SIZE
        if (checksumOf(buffer, payloadStart, length) !== buffer.readUInt32BE(p + 4)) {
          problem = 'checksum mismatch'
          break checks
        }
        while (nextAck < ackedOffsets.length && ackedOffsets[nextAck]! < recordOffset) nextAck++
        const acked = nextAck < ackedOffsets.length && ackedOffsets[nextAck] === recordOffset
        if (acked) {
          if (!payloadIsWellFormed(buffer, payloadStart, length)) {
            problem = 'record fields do not add up to its length'
            break checks
          }
          scan.records.markAcked(scan.records.add(recordOffset))
        } else if (recordSink !== null) {
          if (!fields.locate(buffer, payloadStart, length)) {
            problem = 'record fields do not add up to its length'
            break checks
          }
          scan.records.add(recordOffset)
          recordSink.record(fields, toPosition(segmentId, recordOffset))
        } else {
          const message = decodePayload(buffer, payloadStart, length, decoders)
          if (message === null) {
            problem = 'record fields do not add up to its length'
            break checks
          }
          scan.records.add(recordOffset)
          ;(messages as MessageSink).push({ position: toPosition(segmentId, recordOffset), message })
        }
        p += recordBytes
        scan.validEnd = recordOffset + recordBytes
        continue
      }
      // A bad record: resume at the next valid one if there is one (damage), else it is the end (a torn tail)
      if (!(await ensure(fileSize - recordOffset))) {
        scan.problem = 'file shorter than its size'
        break
      }
      // Zeros up to the end of the file: the space written ahead of the data (append-file.ts), not damage
      if (isAllZeros(buffer, p, filled)) break
      const next = findNextRecord(buffer, p, filled)
      if (next < 0) {
        scan.problem = problem
        break
      }
      while (nextAck < ackedOffsets.length && ackedOffsets[nextAck]! < recordOffset) nextAck++
      log.warn(
        {
          file: path,
          offset: recordOffset,
          skippedBytes: next - p,
          wasAcked: nextAck < ackedOffsets.length && ackedOffsets[nextAck] === recordOffset,
          reason: problem,
        },
        'damaged record skipped; the records after it are kept',
      )
      // The skipped bytes stay in the file as an acked pseudo-record, so that the record before them ends
      // where they start (reads find a record's end at the next offset) and the segment can still complete
      scan.records.markAcked(scan.records.add(recordOffset))
      p = next
    }
  } catch (error) {
    scan.problem = errorText(error)
    scan.ioError = true
    log.error(
      { file: path, offset: scan.validEnd, err: scan.problem },
      'cannot read segment; keeping the records read before the error and leaving the file as it is',
    )
  } finally {
    await handle?.close().catch(() => undefined)
    if (recordSink !== null && buffer.length === READ_CHUNK && spareReadBuffers.length < 4)
      spareReadBuffers.push(buffer)
  }
  return scan
}
