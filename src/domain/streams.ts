/**
 * Stream names. One stream per aggregate instance; `decision-<request_id>` makes lookup by request ID a
 * stream read and turns a reused request ID into a `no_stream` conflict.
 */
export const streams = {
  zone: (zoneId: string) => `zone-${zoneId}`,
  application: (applicationId: string) => `application-${applicationId}`,
  resource: (resourceId: string) => `resource-${resourceId}`,
  grant: (grantId: string) => `grant-${grantId}`,
  policySet: (zoneId: string) => `policyset-${zoneId}`,
  session: (sessionId: string) => `session-${sessionId}`,
  decision: (requestId: string) => `decision-${requestId}`,
} as const;
