// Pieces every page uses: its heading (focusable, so the shell can move focus there on navigation), a
// loading/error line, and small fact lists.
import type { ComponentChildren } from 'preact'

export function PageHeading({ title, kind, children }: { title: string; kind?: string; children?: ComponentChildren }) {
  return (
    <div class="page-head">
      <h1 tabIndex={-1}>
        {kind && <span class="kind">{kind} </span>}
        {title}
      </h1>
      {children && <div class="page-actions">{children}</div>}
    </div>
  )
}

export function LoadState({ loading, error }: { loading: boolean; error: Error | undefined }) {
  if (error) return <p class="form-error">Could not load: {error.message}</p>
  if (loading) return <p class="muted">Loading…</p>
  return null
}

export function Facts({ items }: { items: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  )
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`
  return (
    <section class="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  )
}
