// What every action the user starts does around its request: a failure is said with its reason
// ("Could not delete queue x: reason"); a destructive one is confirmed in the dialog first; a list's row
// action is a small button named for its row.
import { failed } from './announcer.js'
import { confirmAction, type ConfirmRequest } from './confirm.js'
import type { Column } from './table.js'

/** Runs `change` (the request, then saying what it did); when it throws, says `failure` and why */
export async function attempt(failure: string, change: () => Promise<void>): Promise<void> {
  try {
    await change()
  } catch (err) {
    failed(failure, err)
  }
}

/** attempt(), once the dialog is confirmed; `change` gets its answer (the text field's value, '' without one) */
export async function confirmedAttempt(
  confirm: ConfirmRequest,
  failure: string,
  change: (answer: string) => Promise<void>,
): Promise<void> {
  const answer = await confirmAction(confirm)
  if (answer === null) return
  await attempt(failure, () => change(answer))
}

/** The Actions column of a list whose rows have one destructive button (Delete, Clear, Close) */
export function dangerColumn<T>(text: string, name: (row: T) => string, act: (row: T) => Promise<void>): Column<T> {
  return {
    key: 'actions',
    label: 'Actions',
    sortable: false,
    render: (row) => (
      <button type="button" class="small danger" onClick={() => void act(row)} aria-label={name(row)}>
        {text}
      </button>
    ),
  }
}
