// Destructive actions are confirmed in a real modal <dialog>: focus moves into it (to Cancel, the safe
// choice), Escape cancels, and focus returns to the button that opened it. An optional text field (the
// reason for closing a connection) comes back as the answer.
import { useEffect, useRef, useState } from 'preact/hooks'

export interface ConfirmRequest {
  title: string
  message: string
  confirmLabel: string
  /** A text field shown in the dialog, its value the answer */
  input?: { label: string; value: string }
}

interface Pending extends ConfirmRequest {
  resolve(answer: string | null): void
}

let open: ((p: Pending) => void) | undefined

/** The answer: the input's value ('' without one) when confirmed, null when cancelled */
export function confirmAction(request: ConfirmRequest): Promise<string | null> {
  return new Promise((resolve) => {
    if (!open) resolve(null)
    else open({ ...request, resolve })
  })
}

export function ConfirmDialog() {
  const [pending, setPending] = useState<Pending | undefined>()
  const [value, setValue] = useState('')
  const dialog = useRef<HTMLDialogElement>(null)
  const opener = useRef<Element | null>(null)
  useEffect(() => {
    open = (p) => {
      opener.current = document.activeElement
      setValue(p.input?.value ?? '')
      setPending(p)
    }
    return () => {
      open = undefined
    }
  }, [])
  useEffect(() => {
    if (pending && dialog.current && !dialog.current.open) dialog.current.showModal()
  }, [pending])
  const finish = (answer: string | null) => {
    pending?.resolve(answer)
    setPending(undefined)
    dialog.current?.close()
    if (opener.current instanceof HTMLElement && opener.current.isConnected) opener.current.focus()
  }
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-message"
      onCancel={(e) => {
        e.preventDefault()
        finish(null)
      }}
    >
      {pending && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault()
            finish(value)
          }}
        >
          <h2 id="confirm-title">{pending.title}</h2>
          <p id="confirm-message">{pending.message}</p>
          {pending.input && (
            <label class="field">
              <span>{pending.input.label}</span>
              <input value={value} onInput={(e) => setValue(e.currentTarget.value)} />
            </label>
          )}
          <div class="actions">
            <button type="button" autofocus onClick={() => finish(null)}>
              Cancel
            </button>
            <button type="submit" class="danger">
              {pending.confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  )
}
