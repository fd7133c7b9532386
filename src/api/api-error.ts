/**
 * An error with a public shape: HTTP status, a stable `error` code, a public description, public details.
 * `logDetail` is for the server log only (never sent). Anything thrown that is not an ApiError (or a known
 * domain/store error, see error-handler.ts) becomes a 500 with no internals in the body.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly code: string,
    readonly description: string,
    readonly details: Record<string, unknown> = {},
    readonly logDetail?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export const notFound = (code: string, what: string) => new ApiError(404, code, `${what} not found`);
