// The one table of Warren's settings. `--help`, the environment variables' names, the rabbitmq.conf keys
// and docs/configuration.md (scripts/gen-config-docs.mjs) all come from it, so that they cannot disagree.
import type { ConfEntries } from './conf-file.js'
import { SettingError } from './units.js'

export interface Setting {
  /** The command-line flag without its dashes; the environment variable is WARREN_ + it in capitals */
  flag: string
  /** What the value looks like in the help (N, FILE, BYTES); absent for an on/off flag */
  arg?: string
  /** Settings that must not be given on the command line (a password would show in ps) */
  noFlag?: true
  /** The environment variable, when not WARREN_ + the flag */
  env?: string
  /** Environment variables also read, after WARREN_*: RabbitMQ's names where containers set them */
  envAliases?: string[]
  /** rabbitmq.conf keys read as the value itself, RabbitMQ's names where RabbitMQ has the setting */
  keys: string[]
  /** Keys whose meaning needs more than their value (host:port, per-user keys): the value in flag form */
  fromFile?: (entries: ConfEntries) => string | undefined
  /** Further keys fromFile reads, for the unknown-key warning */
  keyPattern?: RegExp
  /** How fromFile's keys are written, for the help and the documentation */
  fileForms?: string[]
  /** The default as the documentation states it */
  default: string
  help: string
}

export function envName(setting: Setting): string {
  return setting.env ?? `WARREN_${setting.flag.toUpperCase().replace(/-/g, '_')}`
}

export function envNames(setting: Setting): string[] {
  return [envName(setting), ...(setting.envAliases ?? [])]
}

/**
 * listeners.tcp.default = 5672 or = 127.0.0.1:5672 (the host part is the bind address); listeners.tcp = none:
 * off. RabbitMQ names listeners freely (listeners.tcp.1, .local); Warren has one, so one name only.
 */
function listener(entries: ConfEntries, kind: 'tcp' | 'ssl', part: 'port' | 'host'): string | undefined {
  const off = entries.get(`listeners.${kind}`)?.value
  if (off !== undefined) return off === 'none' && part === 'port' ? 'none' : undefined
  const named = [...entries.values()].filter((e) => e.key.startsWith(`listeners.${kind}.`))
  if (named.length > 1)
    throw new SettingError(
      `${named[1]!.where}: Warren has one ${kind} listener; ${named.map((e) => e.key).join(' and ')} name two`,
    )
  const value = named[0]?.value
  if (value === undefined) return undefined
  const colon = value.lastIndexOf(':')
  if (colon < 0) return part === 'port' ? value : undefined
  if (part === 'port') return value.slice(colon + 1)
  // [::1]:5672 or :::5672
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  return host === '::' || host === '' ? '::' : host
}

/** loopback_users = none, or loopback_users.NAME = true|false: the users marked true (RabbitMQ's translation) */
function loopbackUsers(entries: ConfEntries): string | undefined {
  const whole = entries.get('loopback_users')?.value
  if (whole !== undefined) return whole === 'none' ? '' : whole
  const named = [...entries.values()].filter((e) => e.key.startsWith('loopback_users.'))
  if (named.length === 0) return undefined
  return named
    .filter((e) => e.value === 'true')
    .map((e) => e.key.slice('loopback_users.'.length))
    .join(',')
}

/** A .relative key's value in flag form: with a decimal point, so that 1 reads as 100% and not 1 byte */
function relative(entries: ConfEntries, prefix: string): string | undefined {
  const rel = entries.get(`${prefix}.relative`)?.value
  if (rel !== undefined) return /^\d+$/.test(rel) ? `${rel}.0` : rel
  return entries.get(`${prefix}.absolute`)?.value ?? entries.get(prefix)?.value
}

export const SETTINGS: readonly Setting[] = [
  {
    flag: 'config',
    arg: 'FILE',
    env: 'WARREN_CONFIG_FILE',
    envAliases: ['RABBITMQ_CONFIG_FILE'],
    keys: [],
    default: 'none',
    help: 'read settings from this file, in rabbitmq.conf syntax (key = value); flags and environment variables win over it',
  },
  {
    flag: 'port',
    arg: 'N|none',
    keys: [],
    fromFile: (entries) => listener(entries, 'tcp', 'port'),
    fileForms: ['listeners.tcp.default', 'listeners.tcp = none'],
    keyPattern: /^listeners\.tcp(\.[^.]+)?$/,
    default: '5672',
    help: 'AMQP port; none turns the plain listener off (listeners.tcp = none), e.g. for amqps only. In the file: listeners.tcp.default = 5672 or = 127.0.0.1:5672 (also sets the address)',
  },
  {
    flag: 'bind',
    arg: 'ADDR',
    keys: [],
    fromFile: (entries) => listener(entries, 'tcp', 'host'),
    fileForms: ['listeners.tcp.default'],
    default: '0.0.0.0',
    help: 'address to listen on (the host part of listeners.tcp.default)',
  },
  {
    flag: 'tls-port',
    arg: 'N',
    keys: [],
    fromFile: (entries) => listener(entries, 'ssl', 'port'),
    fileForms: ['listeners.ssl.default'],
    keyPattern: /^listeners\.ssl(\.[^.]+)?$/,
    default: 'none',
    help: "also listen for AMQP over TLS (amqps) on this port (RabbitMQ's usual one is 5671); needs the certificate and key",
  },
  {
    flag: 'tls-cert',
    arg: 'FILE',
    keys: ['ssl_options.certfile'],
    default: 'none',
    help: "the server's certificate chain, PEM",
  },
  { flag: 'tls-key', arg: 'FILE', keys: ['ssl_options.keyfile'], default: 'none', help: 'its private key, PEM' },
  {
    flag: 'tls-ca',
    arg: 'FILE',
    keys: ['ssl_options.cacertfile'],
    default: "Node's roots",
    help: 'CA certificates that client certificates must chain to, PEM',
  },
  {
    flag: 'tls-verify-peer',
    keys: [],
    fromFile: (entries) => {
      const verify = entries.get('ssl_options.verify')?.value
      return verify === undefined
        ? undefined
        : verify === 'verify_peer'
          ? 'true'
          : verify === 'verify_none'
            ? 'false'
            : verify
    },
    keyPattern: /^ssl_options\.verify$/,
    fileForms: ['ssl_options.verify'],
    default: 'false',
    help: 'ask clients for a certificate and refuse one that does not verify (ssl_options.verify = verify_peer)',
  },
  {
    flag: 'tls-fail-if-no-peer-cert',
    keys: ['ssl_options.fail_if_no_peer_cert'],
    default: 'false',
    help: 'with tls-verify-peer, also refuse clients that send no certificate',
  },
  {
    flag: 'ssl-cert-login-from',
    arg: 'distinguished_name|common_name',
    keys: ['ssl_cert_login_from'],
    default: 'distinguished_name',
    help: 'the user name the EXTERNAL mechanism takes from a client certificate: its subject DN or its CN',
  },
  {
    flag: 'data-dir',
    arg: 'DIR',
    keys: ['warren.data_dir'],
    default: './data',
    help: 'where durable definitions and persistent messages are kept',
  },
  {
    flag: 'log-level',
    arg: 'LEVEL',
    keys: ['log.console.level'],
    default: 'info',
    help: "trace, debug, info, warn, error, fatal or silent; RabbitMQ's names work too (warning, critical, none)",
  },
  {
    flag: 'log-format',
    arg: 'json|text',
    keys: ['log.console.formatter'],
    default: 'json',
    help: "json: one JSON object a line, with ISO times and level names (for journald and log shippers); text: the same as 'TIME LEVEL message key=value' for a terminal. RabbitMQ's plaintext means text",
  },
  {
    flag: 'default-user',
    arg: 'NAME',
    envAliases: ['RABBITMQ_DEFAULT_USER'],
    keys: ['default_user'],
    default: 'guest',
    help: 'the first user, created on a fresh broker; needs default-pass',
  },
  {
    flag: 'default-pass',
    noFlag: true,
    envAliases: ['RABBITMQ_DEFAULT_PASS'],
    keys: ['default_pass'],
    default: 'guest',
    help: "the first user's password (environment or file only: a flag would show it to ps)",
  },
  {
    flag: 'default-vhost',
    arg: 'NAME',
    envAliases: ['RABBITMQ_DEFAULT_VHOST'],
    keys: ['default_vhost'],
    default: '/',
    help: 'the vhost created on a fresh broker, the default user given full access to it',
  },
  {
    flag: 'loopback-users',
    arg: 'A,B',
    keys: [],
    fromFile: loopbackUsers,
    fileForms: ['loopback_users', 'loopback_users.NAME'],
    keyPattern: /^loopback_users(\..+)?$/,
    default: 'guest',
    help: 'users who may log in from this machine only; none (or an empty flag) for nobody. In the file: loopback_users = none, or loopback_users.NAME = true|false',
  },
  {
    flag: 'heartbeat',
    arg: 'S',
    keys: ['heartbeat'],
    default: '60',
    help: 'heartbeat timeout proposed to clients in connection.tune, seconds (0 = off)',
  },
  { flag: 'frame-max', arg: 'N', keys: ['frame_max'], default: '131072', help: 'largest frame accepted, bytes' },
  { flag: 'channel-max', arg: 'N', keys: ['channel_max'], default: '2047', help: 'most channels per connection' },
  {
    flag: 'memory-high-watermark',
    arg: 'BYTES|FRACTION',
    keys: [],
    fromFile: (entries) => relative(entries, 'vm_memory_high_watermark'),
    fileForms: ['vm_memory_high_watermark.relative', 'vm_memory_high_watermark.absolute'],
    keyPattern: /^vm_memory_high_watermark(\.relative|\.absolute)?$/,
    default: '0.4 (of RAM)',
    help: 'resident memory above which publishers are blocked: bytes (2GB, 1536MiB) or a fraction of RAM (0.4). In the file: vm_memory_high_watermark.relative or .absolute',
  },
  {
    flag: 'message-memory-budget',
    arg: 'BYTES|FRACTION',
    keys: ['warren.message_memory_budget'],
    default: '0.2 (of RAM)',
    help: 'message bodies kept in memory; beyond it persistent messages of durable queues, and the tails of long queues, are paged out to the data directory',
  },
  {
    flag: 'disk-free-limit',
    arg: 'BYTES|FRACTION',
    keys: [],
    fromFile: (entries) => relative(entries, 'disk_free_limit'),
    fileForms: ['disk_free_limit.absolute', 'disk_free_limit.relative'],
    keyPattern: /^disk_free_limit(\.relative|\.absolute)?$/,
    default: '50MB',
    help: "free space on the data directory's file system below which publishers are blocked (0 = off); a fraction is of RAM, as disk_free_limit.relative",
  },
  {
    flag: 'definitions',
    arg: 'FILE',
    keys: ['load_definitions', 'definitions.local.path'],
    default: 'none',
    help: 'import users, vhosts, permissions, exchanges, queues, bindings and policies from a RabbitMQ-format JSON definitions file at start',
  },
  {
    flag: 'max-connections',
    arg: 'N',
    keys: ['connection_max'],
    default: '0 (no limit)',
    help: 'client connections beyond this many are refused',
  },
  {
    flag: 'handshake-timeout',
    arg: 'MS',
    keys: ['handshake_timeout'],
    default: '10000',
    help: 'a client that has not opened its connection by then is dropped',
  },
  {
    flag: 'consumer-timeout',
    arg: 'MS',
    keys: ['consumer_timeout'],
    default: '1800000 (30 minutes)',
    help: 'a delivery unacked this long closes its channel with 406 and is requeued (0 = never)',
  },
  {
    flag: 'max-message-size',
    arg: 'BYTES',
    keys: ['max_message_size'],
    default: '128MiB',
    help: 'largest message body accepted, at most 512MiB (406 beyond)',
  },
  {
    flag: 'max-output-buffer',
    arg: 'BYTES',
    keys: ['warren.max_output_buffer'],
    default: '1MiB',
    help: 'output buffered for one connection before it gets no more content until it reads',
  },
  {
    flag: 'management-port',
    arg: 'N|none',
    keys: ['management.tcp.port'],
    default: '15672',
    help: 'port of the management HTTP API; none turns it off',
  },
  {
    flag: 'prometheus-port',
    arg: 'N|none',
    keys: ['prometheus.tcp.port'],
    default: '15692',
    help: 'port of the Prometheus metrics endpoint (/metrics); none turns it off',
  },
]

/** Flags that are commands, not settings */
export const COMMANDS: readonly { flag: string; short: string; help: string }[] = [
  { flag: 'help', short: 'h', help: 'print this text and exit' },
  { flag: 'version', short: 'v', help: "print Warren's version and exit" },
]

export function settingByFlag(flag: string): Setting {
  const setting = SETTINGS.find((s) => s.flag === flag)
  if (!setting) throw new Error(`no setting --${flag} in the table`)
  return setting
}

/** Whether a rabbitmq.conf key is one that some setting reads */
export function isKnownKey(key: string): boolean {
  return SETTINGS.some((s) => s.keys.includes(key) || (s.keyPattern?.test(key) ?? false))
}
