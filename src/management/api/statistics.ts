// The statistics RabbitMQ's management API gives beside each object, computed from what Warren keeps when
// the API reads them (nothing here runs per message): a connection's traffic, TLS session and login, a
// channel's and a queue's idleness, a queue's contents split by where they are (memory, paged out, persistent)
// and its consumers' capacity, gauge rates, churn. Field names and formats as RabbitMQ 3.10.8's (compared
// with a private node by test/differential/management-api.test.ts).
import { statfsSync } from 'node:fs'
import { X509Certificate } from 'node:crypto'
import { TLSSocket } from 'node:tls'
import type { Broker } from '../../broker/broker.js'
import type { Queue } from '../../broker/queue/queue.js'
import type { QueueCounters } from '../../broker/stats.js'
import type { Vhost } from '../../broker/vhost.js'
import type { ApiContext, ManagedConnection, ManagedConsumer } from './context.js'
import { queueTotals, withGaugeRates, withRates, type MessageStats } from './rates.js'

type Fields = Record<string, unknown>

/** RabbitMQ's timestamps of idle_since: "2024-05-01T12:00:00.123+00:00" */
export const rabbitTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '+00:00')

interface Activity {
  total: number
  since: number
}
const activityOf = new WeakMap<object, Activity>()

/** Everything a queue or channel counts: any change is activity */
function activityTotal(c: QueueCounters, extra = 0): number {
  return c.publish + c.deliverGet + c.getEmpty + c.ack + c.redeliver + extra
}

/**
 * RabbitMQ's idle_since of a queue or channel: when it was last active, if it is idle. Warren counts its
 * traffic (no clock read per message), so the API sees activity as a change of those counts between two of
 * its reads: idle since the read that last saw a change, or since the object was made if none was seen. A
 * read that finds the counts changed finds it active: no idle_since.
 */
export function idleSince(counters: QueueCounters, extra = 0, now = Date.now()): { idle_since?: string } {
  const total = activityTotal(counters, extra)
  const seen = activityOf.get(counters)
  if (!seen) {
    activityOf.set(counters, { total, since: counters.createdAt })
    return { idle_since: rabbitTime(counters.createdAt) }
  }
  if (seen.total !== total) {
    seen.total = total
    seen.since = now
    return {}
  }
  return { idle_since: rabbitTime(seen.since) }
}

/**
 * RabbitMQ's consumer_capacity (and its older name consumer_utilisation): whether the queue could hand its
 * next message to a consumer at once, 0 without consumers. Warren's queue delivers whenever a consumer has
 * credit, so this is read off the consumers as they are now: 1 if one could take a message, else 0 (RabbitMQ
 * averages the same condition over time).
 */
function consumerCapacity(q: Queue, consumers: readonly ManagedConsumer[]): number {
  if (consumers.length === 0) return 0
  const active = q.settings.singleActiveConsumer
    ? consumers.filter((c) => (q.activeConsumer as unknown) === c)
    : consumers
  return active.some((c) => c.canTake()) ? 1 : 0
}

/** The consumers of each queue, from the connections' channels (one pass for a whole listing) */
export function consumersByQueue(ctx: ApiContext): Map<object, ManagedConsumer[]> {
  const out = new Map<object, ManagedConsumer[]>()
  for (const c of ctx.connections()) {
    for (const ch of c.channelList) {
      for (const consumer of ch.consumerList) {
        const list = out.get(consumer.queue)
        if (list) list.push(consumer)
        else out.set(consumer.queue, [consumer])
      }
    }
  }
  return out
}

/** A queue's statistics beyond its counts: bytes, where the messages are, consumers' capacity, idleness */
export function queueStatistics(q: Queue, consumers: readonly ManagedConsumer[]): Fields {
  const ready = q.messageCount
  const unacked = q.unackedCount
  // Unacked deliveries keep their bodies in memory; only ready messages are paged out (as Prometheus says)
  const readyRam = ready - q.pagedOut
  const persistent = q.store?.messageCount ?? 0
  const capacity = consumerCapacity(q, consumers)
  const head = q.headTimestamp
  return {
    ...queueTotals(q.stats, ready, unacked),
    messages_ram: readyRam + unacked,
    messages_ready_ram: readyRam,
    messages_unacknowledged_ram: unacked,
    messages_paged_out: q.pagedOut,
    messages_persistent: persistent,
    message_bytes: q.messageBytes + q.unackedBytes,
    message_bytes_ready: q.messageBytes,
    message_bytes_unacknowledged: q.unackedBytes,
    message_bytes_ram: q.messageBytes - q.pagedOutBytes + q.unackedBytes,
    message_bytes_paged_out: q.pagedOutBytes,
    message_bytes_persistent: persistent === 0 ? 0 : q.persistentBytes,
    consumer_capacity: capacity,
    consumer_utilisation: capacity,
    head_message_timestamp: head ?? null,
    ...idleSince(q.stats),
  }
}

/**
 * The bytes a vhost's connections read and wrote (closed ones included), with rates; nothing for a vhost
 * no connection used yet, as RabbitMQ shows them
 */
export function vhostTraffic(ctx: ApiContext, v: Vhost): MessageStats {
  let recv = v.stats.closedConnections.bytesIn
  let send = v.stats.closedConnections.bytesOut
  for (const c of ctx.connections()) {
    if (c.vhost.name !== v.name) continue
    recv += c.bytesIn
    send += c.bytesOut
  }
  if (recv === 0 && send === 0) return {}
  return withRates(v.stats.closedConnections, { send_oct: send, recv_oct: recv })
}

/** Connection, channel and queue churn as RabbitMQ's overview (churn_rates) and nodes name them */
export function churn(broker: Broker): MessageStats {
  const { churn } = broker.stats
  const queues = broker.messageTotals().queueChurn
  return withRates(churn, {
    connection_created: churn.connectionsOpened,
    connection_closed: churn.connectionsClosed,
    channel_created: churn.channelsOpened,
    channel_closed: churn.channelsClosed,
    queue_declared: queues.declared,
    queue_created: queues.created,
    queue_deleted: queues.deleted,
  })
}

/** The node's memory and free disk space, with rates */
export function nodeResources(broker: Broker): MessageStats {
  return withGaugeRates(broker.stats, { mem_used: process.memoryUsage().rss, disk_free: diskFree(broker) })
}

/** The disk alarm's last reading of the data directory's file system, or a reading now */
function diskFree(broker: Broker): number {
  const measured = broker.diskAlarm.free
  if (measured !== undefined) return measured
  try {
    const { bavail, bsize } = statfsSync(broker.config.dataDir ?? '.')
    return Number(bavail) * Number(bsize)
  } catch {
    return 0
  }
}

// A connection's TLS session as RabbitMQ names it (Erlang's ssl cipher suite map): protocol 'tlsv1.3',
// key exchange 'ecdhe_rsa' ('any' in TLS 1.3), cipher 'aes_256_gcm', hash 'aead' for AEAD ciphers.
interface SuiteNames {
  key_exchange: string
  cipher: string
  hash: string
}

/** An IANA suite name (TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256) in Erlang's terms */
export function suiteNames(standardName: string): SuiteNames {
  const name = standardName.replace(/^TLS_/, '')
  const withAt = name.indexOf('_WITH_')
  const keyExchange = withAt < 0 ? 'any' : name.slice(0, withAt).toLowerCase()
  const rest = withAt < 0 ? name : name.slice(withAt + 6)
  const aead = /GCM|CCM|CHACHA20_POLY1305/.test(rest)
  const hashAt = rest.lastIndexOf('_')
  const cipher = rest.slice(0, hashAt)
  const macName = rest.slice(hashAt + 1).toLowerCase()
  return { key_exchange: keyExchange, cipher: cipher.toLowerCase(), hash: aead ? 'aead' : macName }
}

/**
 * A distinguished name as RabbitMQ writes a certificate's subject and issuer (rabbit_ssl), most specific
 * first: "CN=alice,O=Warren Tests". Node gives one attribute per line, least specific first, RFC 4514-escaped.
 */
const distinguishedName = (text: string): string =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .reverse()
    .join(',')

/** An X.509 validity date ("Jan  1 00:00:00 2024 GMT") as RabbitMQ writes it: "2024-01-01T00:00:00Z" */
const validityTime = (date: string): string => new Date(date).toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * The TLS fields of a connection: null for a plain TCP connection in a listing, '' when one connection is
 * read (RabbitMQ 3.10.8 answers both ways).
 */
export function connectionTls(c: ManagedConnection, single: boolean): Fields {
  const socket = c.transport
  const none = single ? '' : null
  if (!(socket instanceof TLSSocket)) {
    return {
      ssl: false,
      ssl_protocol: none,
      ssl_key_exchange: none,
      ssl_cipher: none,
      ssl_hash: none,
      peer_cert_subject: none,
      peer_cert_issuer: none,
      peer_cert_validity: none,
    }
  }
  const cipher = socket.getCipher()
  const suite = suiteNames(cipher.standardName ?? cipher.name)
  const raw = socket.getPeerCertificate().raw as Buffer | undefined
  const cert = raw && raw.length > 0 ? new X509Certificate(raw) : undefined
  return {
    ssl: true,
    ssl_protocol: (socket.getProtocol() ?? '').toLowerCase(),
    ssl_key_exchange: suite.key_exchange,
    ssl_cipher: suite.cipher,
    ssl_hash: suite.hash,
    peer_cert_subject: cert ? distinguishedName(cert.subject) : none,
    peer_cert_issuer: cert ? distinguishedName(cert.issuer) : none,
    peer_cert_validity: cert ? `${validityTime(cert.validFrom)} - ${validityTime(cert.validTo)}` : none,
  }
}

/** A connection's traffic, login and heartbeat, as RabbitMQ's connection objects carry them */
export function connectionStatistics(c: ManagedConnection, single: boolean): Fields {
  return {
    ...withRates(c, { recv_oct: c.bytesIn, send_oct: c.bytesOut }),
    recv_cnt: c.packetsIn,
    send_cnt: c.packetsOut,
    send_pend: c.bufferedOutput,
    connected_at: c.connectedAt,
    auth_mechanism: c.authMechanism,
    timeout: c.heartbeatSeconds,
    ...(connectionTls(c, single) as object),
  }
}
