import { REQUEST_ID } from '../../domain/validation.js';
import { newId } from '../../crypto/ids.js';
import type { IncomingMessage } from 'node:http';

/**
 * Fastify `genReqId`: an inbound X-Request-ID is honoured when it matches the public grammar, so that a
 * caller's id follows the request through writ's logs and ledger; otherwise a sortable one is generated.
 */
export function requestIdFor(req: IncomingMessage): string {
  const inbound = req.headers['x-request-id'];
  if (typeof inbound === 'string' && REQUEST_ID.test(inbound)) return inbound;
  return newId('req');
}
