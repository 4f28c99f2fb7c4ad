// What the store logs of a thrown value: its message, and the errno code of a file system error.

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code
}
