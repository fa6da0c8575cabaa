// Orgs as the hot paths read them (every ingest, every read filtered by retention): each org is
// read from the store at most every ORG_FRESH_MS, so a plan change made on another replica shows
// within that; this process's own changes forget the entry at once.
import type { Org, OrgRepository } from './orgs.js';

/** How long an org read from the store is used, ms. */
export const ORG_FRESH_MS = 5_000;
/** Most orgs kept (the longest held leaves first). */
const MAX_ORGS = 10_000;

export class OrgCache {
  private readonly entries = new Map<string, { org: Org | undefined; until: number }>();

  constructor(
    private readonly orgs: Pick<OrgRepository, 'get'>,
    private readonly now: () => number,
  ) {}

  /** The org (undefined when there is none), read from the store when not fresh here. */
  async get(orgId: string): Promise<Org | undefined> {
    const now = this.now();
    const hit = this.entries.get(orgId);
    if (hit && hit.until > now) return hit.org;
    const org = await this.orgs.get(orgId);
    this.entries.delete(orgId);
    if (this.entries.size >= MAX_ORGS) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(orgId, { org, until: now + ORG_FRESH_MS });
    return org;
  }

  /** Read the org from the store next time (it changed here). */
  forget(orgId: string): void {
    this.entries.delete(orgId);
  }
}
