// RabbitMQ's error bodies: {"error": ..., "reason": ...} with the status each comes with.

/** An error answered with RabbitMQ's body: {"error": ..., "reason": ...} */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    /** A text, or (for the few Erlang errors RabbitMQ passes through as they are) a list of texts */
    readonly reason: string | readonly string[],
    readonly headers: Record<string, string> = {},
  ) {
    super(String(reason))
  }
}

/** RabbitMQ 3.10's 404 body, for a missing object and an unknown path alike */
export const notFoundError = (): HttpError => new HttpError(404, 'Object Not Found', 'Not Found')
export const badRequest = (reason: string): HttpError => new HttpError(400, 'bad_request', reason)
/** Authenticated, but not allowed: no WWW-Authenticate header, as RabbitMQ answers */
export const notAuthorised = (reason: string): HttpError => new HttpError(401, 'not_authorised', reason)
