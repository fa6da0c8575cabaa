// OPSTRAILS_PLANS and OPSTRAILS_DEFAULT_PLAN: validated at start-up; the default org gets the configured plan.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../cli/config.js';
import { bootstrapDefaultOrg, firstStartMessage } from '../../cli/serve.js';
import { DEFAULT_PLAN_LIMITS } from '../../domain/plan.js';
import { testStore } from '../support/store.js';

describe('OPSTRAILS_PLANS', () => {
  it('defaults to the documented limits and reads overrides over them', () => {
    expect(loadConfig({}).OPSTRAILS_PLANS).toEqual(DEFAULT_PLAN_LIMITS);
    const plans = loadConfig({ OPSTRAILS_PLANS: 'starter:retention=45,events=300000' }).OPSTRAILS_PLANS;
    expect(plans.starter).toEqual({ retention_days: 45, events_per_month: 300_000 });
    expect(plans.free).toEqual(DEFAULT_PLAN_LIMITS.free);
  });

  it.each(['gold:retention=7', 'free:retention=0', 'free:days=7', 'free'])(
    'refuses %s with one line naming the variable',
    (value) => {
      const load = () => loadConfig({ OPSTRAILS_PLANS: value });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/^invalid environment variable OPSTRAILS_PLANS=.*expected e\.g\. free:retention=7/);
      try {
        load();
      } catch (err) {
        expect((err as Error).message).not.toContain('\n');
      }
    },
  );
});

describe('OPSTRAILS_DEFAULT_PLAN', () => {
  it('defaults to pro and takes any plan', () => {
    expect(loadConfig({}).OPSTRAILS_DEFAULT_PLAN).toBe('pro');
    expect(loadConfig({ OPSTRAILS_DEFAULT_PLAN: 'free' }).OPSTRAILS_DEFAULT_PLAN).toBe('free');
  });

  it('refuses an unknown plan naming the variable and the plans', () => {
    expect(() => loadConfig({ OPSTRAILS_DEFAULT_PLAN: 'gold' })).toThrow(
      /OPSTRAILS_DEFAULT_PLAN="gold": expected one of free, starter, pro/,
    );
  });

  it('is the plan of the org bootstrapped on a fresh embedded install, and the first-start message says so', async () => {
    const store = await testStore();
    try {
      const config = loadConfig({ OPSTRAILS_DEFAULT_PLAN: 'starter', OPSTRAILS_PLANS: 'starter:retention=40' });
      const created = await bootstrapDefaultOrg(store, config);
      expect(created).toMatchObject({ plan: 'starter', adminKey: expect.stringMatching(/^otk_/) });
      expect((await store.orgs.get(created!.orgId))?.plan).toBe('starter');
      expect(await bootstrapDefaultOrg(store, config)).toBeUndefined(); // once only
      const message = firstStartMessage(created!, config, 'http://127.0.0.1:8080');
      expect(message).toContain('on plan "starter": 40 days of data, 250000 events a month');
      expect(message).toContain('OPSTRAILS_DEFAULT_PLAN');
      expect(message).toContain(`PATCH http://127.0.0.1:8080/v1/orgs/${created!.orgId}`);
      expect(message).toContain(created!.adminKey);
    } finally {
      await store.close();
    }
  });
});
