// The login form: the credentials are checked with GET /api/whoami before anything is kept. The API's
// refusals are told apart: a wrong password, a user without a management tag, a loopback-only user.
import { useState } from 'preact/hooks'
import { ApiError, login, type Session } from '../api.js'

function explain(err: unknown, user: string): string {
  if (!(err instanceof ApiError)) return String(err)
  if (err.status === 0) return 'The broker cannot be reached. Is it running?'
  if (err.reason === 'Not management user')
    return `User "${user}" may not use the management UI: it needs one of the tags management, policymaker, monitoring or administrator.`
  if (err.reason === 'User can only log in via localhost')
    return `User "${user}" may only log in from the broker's own machine (loopback_users).`
  if (err.status === 401) return 'Wrong username or password.'
  return err.message
}

export function Login({ onLogin, notice }: { onLogin: (s: Session) => void; notice: string | undefined }) {
  const [user, setUser] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      onLogin(await login(user, password))
    } catch (err) {
      setError(explain(err, user))
    } finally {
      setBusy(false)
    }
  }
  return (
    <main class="login" id="main">
      <form class="card stack" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
        <h1 id="login-title">
          <span class="logo" aria-hidden="true">
            ◆
          </span>{' '}
          Warren
        </h1>
        <p class="muted">Log in to manage this broker.</p>
        {notice && !error && <p class="notice-inline">{notice}</p>}
        <label class="field">
          <span>Username</span>
          <input
            name="username"
            autocomplete="username"
            required
            autofocus
            value={user}
            onInput={(e) => setUser(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <div role="alert" class="form-error">
          {error}
        </div>
        <button type="submit" class="primary" disabled={busy}>
          Log in
        </button>
      </form>
    </main>
  )
}
