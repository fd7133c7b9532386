import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/domain/events.js';
import {
  policySetDecider,
  type ActivatePolicyVersion,
  type CreatePolicyVersion,
  type InitializePolicySet,
} from '../../src/domain/policy-set/index.js';
import { BUNDLE, DIGEST_A, DIGEST_B, DIGEST_C, ENTRYPOINTS, OTHER_ZONE, T0, T1, T2, T3, ZONE } from './fixtures.js';
import { given } from './given-when-then.js';

const initialize: InitializePolicySet = {
  type: 'InitializePolicySet',
  zone_id: ZONE,
  digest: DIGEST_A,
  bundle_base64: BUNDLE,
  entrypoints: ENTRYPOINTS,
  created_at: T0,
};
const create = (digest: string, over: Partial<CreatePolicyVersion> = {}): CreatePolicyVersion => ({
  type: 'CreatePolicyVersion',
  zone_id: ZONE,
  digest,
  bundle_base64: BUNDLE,
  entrypoints: ENTRYPOINTS,
  origin: 'rego',
  created_at: T1,
  ...over,
});
const activate = (version: number, over: Partial<ActivatePolicyVersion> = {}): ActivatePolicyVersion => ({
  type: 'ActivatePolicyVersion',
  zone_id: ZONE,
  version,
  activated_at: T2,
  ...over,
});

const created = (version: number, digest: string, origin: 'builtin' | 'rego' | 'bundle' = 'rego', created_at = T1) =>
  makeEvent('PolicyVersionCreated', {
    zone_id: ZONE,
    version,
    digest,
    bundle_base64: BUNDLE,
    entrypoints: ENTRYPOINTS,
    origin,
    created_at,
  });
const activated = (version: number, previous_version: number | null, activated_at = T2) =>
  makeEvent('PolicyVersionActivated', { zone_id: ZONE, version, previous_version, activated_at });

const initialized = [created(1, DIGEST_A, 'builtin', T0), activated(1, null, T0)];

describe('policy-set decider', () => {
  describe('InitializePolicySet', () => {
    it('creates version 1 from the built-in bundle and activates it', () => {
      const state = given(policySetDecider).when(initialize).thenEvents(initialized);
      expect(state.status).toBe('initialized');
      if (state.status !== 'initialized') return;
      expect(state.active_version).toBe(1);
      expect(state.versions.get(1)).toEqual({
        version: 1,
        digest: DIGEST_A,
        entrypoints: ENTRYPOINTS,
        origin: 'builtin',
        created_at: T0,
        activated_at: T0,
      });
    });

    it('refuses a zone that already has a policy set', () => {
      given(policySetDecider, initialized).when(initialize).thenError('policy_set_already_initialized', { zone_id: ZONE });
    });

    it('refuses a digest that is not sha256 hex', () => {
      given(policySetDecider)
        .when({ ...initialize, digest: 'sha256:abc' })
        .thenError('invalid_request', { event_type: 'PolicyVersionCreated' });
    });
  });

  describe('CreatePolicyVersion', () => {
    it('creates the next version without activating it', () => {
      const state = given(policySetDecider, initialized).when(create(DIGEST_B)).thenEvents([created(2, DIGEST_B)]);
      expect(state.status === 'initialized' && state.active_version).toBe(1);
      expect(state.status === 'initialized' && state.versions.get(2)?.activated_at).toBeNull();
    });

    it('numbers versions consecutively and records the origin', () => {
      given(policySetDecider, [...initialized, created(2, DIGEST_B)])
        .when(create(DIGEST_C, { origin: 'bundle', created_at: T2 }))
        .thenEvents([created(3, DIGEST_C, 'bundle', T2)]);
    });

    it('refuses content that already exists as the built-in version', () => {
      given(policySetDecider, initialized)
        .when(create(DIGEST_A))
        .thenError('policy_version_exists', { version: 1, digest: DIGEST_A });
    });

    it('refuses content that already exists, naming that version', () => {
      given(policySetDecider, [...initialized, created(2, DIGEST_B), created(3, DIGEST_C)])
        .when(create(DIGEST_B, { created_at: T3 }))
        .thenError('policy_version_exists', { version: 2, digest: DIGEST_B });
    });

    it('refuses before the policy set is initialized', () => {
      given(policySetDecider).when(create(DIGEST_B)).thenError('policy_set_not_initialized', { zone_id: ZONE });
    });

    it('treats a stream holding another zone as not initialized', () => {
      given(policySetDecider, initialized)
        .when(create(DIGEST_B, { zone_id: OTHER_ZONE }))
        .thenError('policy_set_not_initialized', { zone_id: OTHER_ZONE });
    });
  });

  describe('ActivatePolicyVersion', () => {
    it('activates an existing version, recording the previous one', () => {
      const state = given(policySetDecider, [...initialized, created(2, DIGEST_B)])
        .when(activate(2))
        .thenEvents([activated(2, 1)]);
      expect(state.status === 'initialized' && state.active_version).toBe(2);
      expect(state.status === 'initialized' && state.versions.get(2)?.activated_at).toBe(T2);
    });

    it('rolls back by activating an older version', () => {
      const state = given(policySetDecider, [...initialized, created(2, DIGEST_B), activated(2, 1)])
        .when(activate(1, { activated_at: T3 }))
        .thenEvents([activated(1, 2, T3)]);
      expect(state.status === 'initialized' && state.active_version).toBe(1);
      expect(state.status === 'initialized' && state.versions.get(1)?.activated_at).toBe(T3);
    });

    it('refuses an unknown version', () => {
      given(policySetDecider, [...initialized, created(2, DIGEST_B)])
        .when(activate(3))
        .thenError('policy_version_not_found', { version: 3 });
    });

    it('refuses a version that is not a positive integer', () => {
      given(policySetDecider, initialized).when(activate(1.5)).thenError('policy_version_not_found');
      given(policySetDecider, initialized).when(activate(0)).thenError('policy_version_not_found');
    });

    it('refuses the version that is already active', () => {
      given(policySetDecider, [...initialized, created(2, DIGEST_B), activated(2, 1)])
        .when(activate(2, { activated_at: T3 }))
        .thenError('policy_version_already_active', { version: 2 });
    });

    it('refuses before the policy set is initialized', () => {
      given(policySetDecider).when(activate(1)).thenError('policy_set_not_initialized');
    });
  });
});
