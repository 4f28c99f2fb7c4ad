// Administration, one tab each (#/admin/users, ...): users, virtual hosts, permissions, policies and
// limits. What a tab may do follows the user's tags; the API refuses the rest and says why.
import { href } from '../router.js'
import { PageHeading } from '../components/page.js'
import { Users } from './admin-users.js'
import { Vhosts } from './admin-vhosts.js'
import { Permissions } from './admin-permissions.js'
import { Policies } from './admin-policies.js'
import { Limits } from './admin-limits.js'

const TABS: [string, string][] = [
  ['users', 'Users'],
  ['vhosts', 'Virtual hosts'],
  ['permissions', 'Permissions'],
  ['policies', 'Policies'],
  ['limits', 'Limits'],
]

export function Admin({ tab }: { tab: string }) {
  const label = TABS.find(([t]) => t === tab)?.[1] ?? 'Users'
  return (
    <section>
      <PageHeading title={label} kind="Admin" />
      <nav aria-label="Admin sections" class="tabs">
        <ul>
          {TABS.map(([t, l]) => (
            <li key={t}>
              <a href={href('admin', t)} aria-current={t === tab ? 'page' : undefined}>
                {l}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {tab === 'vhosts' ? (
        <Vhosts />
      ) : tab === 'permissions' ? (
        <Permissions />
      ) : tab === 'policies' ? (
        <Policies />
      ) : tab === 'limits' ? (
        <Limits />
      ) : (
        <Users />
      )}
    </section>
  )
}
