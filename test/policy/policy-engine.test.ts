import { describe, expect, it } from 'vitest';
import {
  PolicyInputSchema,
  grantCeiling,
  interpretPolicyOutput,
  interpretResultSet,
} from '../../src/policy/policy-engine.js';
import { makeInput } from './helpers.js';

const allow = (extra: Record<string, unknown> = {}) => ({ decision: 'allow', determining_policies: ['p'], diagnostics: [], ...extra });

describe('PolicyInputSchema', () => {
  it('accepts the contract input, with or without a session', () => {
    expect(PolicyInputSchema.safeParse(makeInput()).success).toBe(true);
    expect(PolicyInputSchema.safeParse(makeInput({ session: null })).success).toBe(true);
  });

  it('refuses inputs missing contract fields', () => {
    const { context: _c, ...noContext } = makeInput();
    expect(PolicyInputSchema.safeParse(noContext).success).toBe(false);
    expect(PolicyInputSchema.safeParse({ ...makeInput(), schema_version: '2' }).success).toBe(false);
  });
});

describe('interpreting policy results', () => {
  const input = makeInput({
    resource: { id: 'r', identifier: 'resource://r', scopes: ['a', 'b', 'c'] },
    requested_scopes: ['b', 'a'],
    grants: [{ grant_id: 'g', scopes: ['a', 'b'], user_id: null }],
  });

  it.each([
    ['not an array', { result: allow() }],
    ['undefined (empty result set)', []],
    ['several results', [{ result: allow() }, { result: allow() }]],
    ['no result member', [{}]],
  ])('a result set that is %s is a deny (policy_eval_failed)', (_what, rs) => {
    expect(interpretResultSet(rs, input)).toMatchObject({
      decision: 'deny',
      scopes: [],
      diagnostics: [{ reason: 'policy_eval_failed' }],
    });
  });

  it.each([
    ['a bad decision', { ...allow(), decision: 'yes' }],
    ['missing determining_policies', { decision: 'allow', diagnostics: [] }],
    ['a diagnostic without reason', allow({ diagnostics: [{ message: 'x' }] })],
    ['an oversized reason', allow({ diagnostics: [{ reason: 'x'.repeat(201) }] })],
    ['non-string scopes', allow({ scopes: [1] })],
    ['a non-object', 'allow'],
  ])('a malformed output (%s) is a deny (policy_eval_failed)', (_what, out) => {
    const r = interpretPolicyOutput(out, input);
    expect(r.decision).toBe('deny');
    expect(r.diagnostics[0]?.reason).toBe('policy_eval_failed');
  });

  it('a deny grants nothing, whatever scopes the policy lists', () => {
    expect(interpretPolicyOutput({ ...allow({ scopes: ['a'] }), decision: 'deny' }, input).scopes).toEqual([]);
  });

  it('grants sorted, de-duplicated scopes within the ceiling', () => {
    expect(grantCeiling(input)).toEqual(new Set(['b', 'a']));
    expect(interpretPolicyOutput(allow({ scopes: ['b', 'a', 'b'] }), input)).toEqual({
      decision: 'allow',
      scopes: ['a', 'b'],
      determining_policies: ['p'],
      diagnostics: [],
    });
    expect(interpretPolicyOutput(allow(), input).scopes).toEqual(['a', 'b']);
  });

  it('an allow that names no scope at all becomes a deny', () => {
    expect(interpretPolicyOutput(allow({ scopes: [] }), input)).toMatchObject({
      decision: 'deny',
      determining_policies: ['p', 'writ.grant_ceiling'],
      diagnostics: [{ reason: 'no_scope_allowed' }],
    });
  });
});
