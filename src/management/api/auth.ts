// Who may do what through the management API, as RabbitMQ's rabbit_mgmt_util decides it: HTTP basic auth
// against the broker's users, then the user's tags. Any of management, policymaker, monitoring and
// administrator lets a user in; monitoring (or administrator) sees every vhost, connection and channel; a
// plain management user sees the vhosts it has permissions in and its own connections; users,
// permissions, vhost changes and definitions need administrator. Texts and codes as RabbitMQ 3.10.8 answers
// (checked with curl): no credentials is a bare 401, wrong ones 401 "not_authorized" (sic) "Login failed".
import type { User, UserStore } from '../../auth/users.js'
import type { Permissions, PermissionKind } from '../../auth/permissions.js'
import { HttpError, notAuthorised } from './errors.js'

const REALM = { 'www-authenticate': 'Basic realm="RabbitMQ Management"' }

/** The tags that let a user use the management API at all */
const MANAGEMENT_TAGS = ['management', 'policymaker', 'monitoring', 'administrator']

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}

/**
 * The request's user. `loopbackUsers` (RabbitMQ's loopback_users, guest by default) may only come from the
 * machine itself: 401 "User can only log in via localhost" once the password is right (3.10.8, checked).
 */
export function authenticate(
  users: UserStore,
  header: string | undefined,
  remoteAddress: string,
  loopbackUsers: readonly string[],
): User {
  if (!header || !/^basic /i.test(header)) throw new HttpError(401, '', '', REALM)
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const name = colon < 0 ? decoded : decoded.slice(0, colon)
  const password = colon < 0 ? '' : decoded.slice(colon + 1)
  const result = users.authenticate(name, password)
  if (!result.ok) throw new HttpError(401, 'not_authorized', 'Login failed', REALM)
  const user = result.user
  if (loopbackUsers.includes(user.name) && !isLoopback(remoteAddress)) {
    throw notAuthorised('User can only log in via localhost')
  }
  if (!user.tags.some((t) => MANAGEMENT_TAGS.includes(t))) throw notAuthorised('Not management user')
  return user
}

export const isAdministrator = (user: User): boolean => user.tags.includes('administrator')
export const isMonitor = (user: User): boolean => isAdministrator(user) || user.tags.includes('monitoring')

export function requireAdministrator(user: User): void {
  if (!isAdministrator(user)) throw notAuthorised('Not administrator user')
}

/** The access checks of one request's user */
export class Access {
  constructor(
    readonly user: User,
    private readonly permissions: Permissions,
  ) {}

  /** Vhosts whose objects the user sees in lists: every one for monitoring users, else where it may log in */
  seesVhost(vhost: string): boolean {
    return isMonitor(this.user) || this.permissions.mayAccessVhost(this.user.name, vhost)
  }

  /** Whether the user may log in to the vhost (policies are listed for those only) */
  mayAccessVhost(vhost: string): boolean {
    return this.permissions.mayAccessVhost(this.user.name, vhost)
  }

  /** A path naming a vhost: the user must be able to log in to it (rabbit_mgmt_util:is_authorized_vhost) */
  requireVhost(vhost: string): void {
    if (!this.permissions.mayAccessVhost(this.user.name, vhost)) {
      throw notAuthorised('User not authorised to access virtual host')
    }
  }

  /** A resource permission, as the AMQP operation would check it; refused as RabbitMQ's API refuses it */
  requireResource(vhost: string, kind: PermissionKind, name: string): void {
    if (!this.permissions.allows(this.user.name, vhost, kind, name)) throw notAuthorised('Access refused.')
  }

  /** A user's own connections, or all of them for monitoring users */
  seesConnectionOf(userName: string): boolean {
    return isMonitor(this.user) || userName === this.user.name
  }
}
