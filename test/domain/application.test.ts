import { describe, expect, it } from 'vitest';
import { applicationDecider, type ApplicationCommand } from '../../src/domain/application/index.js';
import { makeEvent } from '../../src/domain/events.js';
import { HASH, SALT, T0, T1, ZONE } from './fixtures.js';
import { given } from './given-when-then.js';

const register = (over: Partial<ApplicationCommand> = {}): ApplicationCommand => ({
  type: 'RegisterApplication',
  zone_id: ZONE,
  application_id: 'app_1',
  name: 'checkout',
  secret_salt: SALT,
  secret_hash: HASH,
  registered_at: T0,
  ...over,
});
const registered = makeEvent('ApplicationRegistered', {
  zone_id: ZONE,
  application_id: 'app_1',
  name: 'checkout',
  secret_salt: SALT,
  secret_hash: HASH,
  registered_at: T0,
});

describe('application decider', () => {
  it('registers an application', () => {
    const state = given(applicationDecider).when(register()).thenEvents([registered]);
    expect(state).toEqual({ status: 'active', zone_id: ZONE, application_id: 'app_1', name: 'checkout', registered_at: T0 });
  });

  it('refuses to register the same application again', () => {
    given(applicationDecider, [registered])
      .when(register({ name: 'other', registered_at: T1 }))
      .thenError('application_already_exists', { application_id: 'app_1' });
  });

  it('refuses a secret hash that is not sha256 hex', () => {
    given(applicationDecider)
      .when(register({ secret_hash: 'not-a-hash' }))
      .thenError('invalid_request', { event_type: 'ApplicationRegistered' });
  });

  it('refuses an empty name', () => {
    given(applicationDecider).when(register({ name: '' })).thenError('invalid_request');
  });
});
