import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/domain/events.js';
import { resourceDecider, type RegisterResource } from '../../src/domain/resource/index.js';
import { T0, T1, ZONE } from './fixtures.js';
import { given } from './given-when-then.js';

const register = (over: Partial<RegisterResource> = {}): RegisterResource => ({
  type: 'RegisterResource',
  zone_id: ZONE,
  resource_id: 'res_1',
  identifier: 'resource://payments',
  scopes: ['payments:read', 'payments:write'],
  upstream_url: null,
  registered_at: T0,
  ...over,
});
const registered = (over: { scopes?: string[]; upstream_url?: string | null } = {}) =>
  makeEvent('ResourceRegistered', {
    zone_id: ZONE,
    resource_id: 'res_1',
    identifier: 'resource://payments',
    scopes: ['payments:read', 'payments:write'],
    upstream_url: null,
    registered_at: T0,
    ...over,
  });

describe('resource decider', () => {
  it('registers a resource', () => {
    const state = given(resourceDecider).when(register()).thenEvents([registered()]);
    expect(state).toMatchObject({ status: 'active', identifier: 'resource://payments', scopes: ['payments:read', 'payments:write'] });
  });

  it('keeps the upstream URL', () => {
    given(resourceDecider)
      .when(register({ upstream_url: 'https://payments.internal/api' }))
      .thenEvents([registered({ upstream_url: 'https://payments.internal/api' })]);
  });

  it('drops repeated scopes, keeping first-seen order', () => {
    given(resourceDecider)
      .when(register({ scopes: ['payments:write', 'payments:read', 'payments:write'] }))
      .thenEvents([registered({ scopes: ['payments:write', 'payments:read'] })]);
  });

  it('refuses to register the same resource again', () => {
    given(resourceDecider, [registered()])
      .when(register({ registered_at: T1 }))
      .thenError('resource_already_exists', { resource_id: 'res_1' });
  });

  it('refuses an identifier another resource of the zone already uses', () => {
    given(resourceDecider)
      .when(register({ conflicting_resource_id: 'res_0' }))
      .thenError('resource_already_exists', { identifier: 'resource://payments', resource_id: 'res_0' });
  });

  it('accepts a null conflicting_resource_id', () => {
    given(resourceDecider).when(register({ conflicting_resource_id: null })).thenEvents([registered()]);
  });

  it.each(['payments', 'resource://', 'resource://Payments', 'https://payments', 'resource://pay ments', 'resource://-x'])(
    'refuses the identifier %j',
    (identifier) => {
      given(resourceDecider).when(register({ identifier })).thenError('invalid_resource_identifier', { identifier });
    },
  );

  it('refuses scopes that break the grammar, listing each once', () => {
    given(resourceDecider)
      .when(register({ scopes: ['payments:read', 'Payments:Write', 'has space', 'Payments:Write'] }))
      .thenError('invalid_scope', { scopes: ['Payments:Write', 'has space'] });
  });

  it('refuses an empty scope string', () => {
    given(resourceDecider).when(register({ scopes: [''] })).thenError('invalid_scope', { scopes: [''] });
  });

  it('refuses a resource without scopes', () => {
    given(resourceDecider).when(register({ scopes: [] })).thenError('invalid_scope', { scopes: [] });
  });

  it('refuses an upstream URL that is not a URL', () => {
    given(resourceDecider)
      .when(register({ upstream_url: 'not a url' }))
      .thenError('invalid_request', { event_type: 'ResourceRegistered' });
  });
});
