// The list_* commands: which API path each reads, its default columns (rabbitmqctl's), and the rabbitmqctl
// column names the API spells differently.
import type { ColumnAliases, Row } from './table.js'
import { seg } from './client.js'

export interface ListCommand {
  name: string
  description: string
  /** The API path; vhost is the --vhost option */
  path: (vhost: string) => string
  /** Whether the listing is of one vhost (--vhost applies) */
  perVhost: boolean
  defaultColumns: string[]
  aliases: ColumnAliases
  /** What the table output says first, as rabbitmqctl does ("Listing queues for vhost / ...") */
  banner: (vhost: string) => string
}

const nameOf = (value: unknown): unknown =>
  value !== null && typeof value === 'object' ? (value as Row)['name'] : undefined

export const LIST_COMMANDS: ListCommand[] = [
  {
    name: 'list_queues',
    description: 'queues of a vhost',
    path: (v) => `/api/queues/${seg(v)}`,
    perVhost: true,
    defaultColumns: ['name', 'messages'],
    aliases: {},
    banner: (v) => `Listing queues for vhost ${v} ...`,
  },
  {
    name: 'list_exchanges',
    description: 'exchanges of a vhost',
    path: (v) => `/api/exchanges/${seg(v)}`,
    perVhost: true,
    defaultColumns: ['name', 'type'],
    aliases: {},
    banner: (v) => `Listing exchanges for vhost ${v} ...`,
  },
  {
    name: 'list_bindings',
    description: 'bindings of a vhost',
    path: (v) => `/api/bindings/${seg(v)}`,
    perVhost: true,
    defaultColumns: ['source_name', 'source_kind', 'destination_name', 'destination_kind', 'routing_key', 'arguments'],
    aliases: {
      source_name: (r) => r['source'],
      source_kind: () => 'exchange',
      destination_name: (r) => r['destination'],
      destination_kind: (r) => r['destination_type'],
    },
    banner: (v) => `Listing bindings for vhost ${v}...`,
  },
  {
    name: 'list_connections',
    description: 'client connections',
    path: () => '/api/connections',
    perVhost: false,
    defaultColumns: ['user', 'peer_host', 'peer_port', 'state'],
    aliases: {},
    banner: () => 'Listing connections ...',
  },
  {
    name: 'list_channels',
    description: 'channels of every connection',
    path: () => '/api/channels',
    perVhost: false,
    defaultColumns: ['name', 'user', 'consumer_count', 'messages_unacknowledged'],
    aliases: {},
    banner: () => 'Listing channels ...',
  },
  {
    name: 'list_consumers',
    description: 'consumers of a vhost',
    path: (v) => `/api/consumers/${seg(v)}`,
    perVhost: true,
    defaultColumns: [
      'queue_name',
      'channel_pid',
      'consumer_tag',
      'ack_required',
      'prefetch_count',
      'active',
      'arguments',
    ],
    aliases: {
      queue_name: (r) => nameOf(r['queue']),
      channel_pid: (r) => nameOf(r['channel_details']),
    },
    banner: (v) => `Listing consumers in vhost ${v} ...`,
  },
  {
    name: 'list_users',
    description: 'users and their tags',
    path: () => '/api/users',
    perVhost: false,
    defaultColumns: ['user', 'tags'],
    aliases: { user: (r) => r['name'] },
    banner: () => 'Listing users ...',
  },
  {
    name: 'list_vhosts',
    description: 'virtual hosts',
    path: () => '/api/vhosts',
    perVhost: false,
    defaultColumns: ['name'],
    aliases: {},
    banner: () => 'Listing vhosts ...',
  },
  {
    name: 'list_permissions',
    description: "users' permissions in a vhost",
    path: (v) => `/api/vhosts/${seg(v)}/permissions`,
    perVhost: true,
    defaultColumns: ['user', 'configure', 'write', 'read'],
    aliases: {},
    banner: (v) => `Listing permissions for vhost "${v}" ...`,
  },
  {
    name: 'list_topic_permissions',
    description: "users' topic permissions in a vhost",
    path: (v) => `/api/vhosts/${seg(v)}/topic-permissions`,
    perVhost: true,
    defaultColumns: ['user', 'exchange', 'write', 'read'],
    aliases: {},
    banner: (v) => `Listing topic permissions for vhost "${v}" ...`,
  },
  {
    name: 'list_policies',
    description: 'policies of a vhost',
    path: (v) => `/api/policies/${seg(v)}`,
    perVhost: true,
    defaultColumns: ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
    aliases: {},
    banner: (v) => `Listing policies for vhost "${v}" ...`,
  },
  {
    name: 'list_operator_policies',
    description: 'operator policies of a vhost (overrides of user policies)',
    path: (v) => `/api/operator-policies/${seg(v)}`,
    perVhost: true,
    defaultColumns: ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority'],
    aliases: {},
    banner: (v) => `Listing operator policy overrides for vhost "${v}" ...`,
  },
]
