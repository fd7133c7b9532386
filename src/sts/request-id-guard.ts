/**
 * Early refusal of a reused request id, before any work is done for it. The authoritative guard is the
 * ledger (`decision-<request_id>` appended with `no_stream`); this one only spares the policy evaluation, the
 * signature and a session that would be opened for nothing. It knows the ids recorded by the decisions read
 * model plus those this instance has seen recently (in flight, or recorded but not yet projected).
 */
export class RequestIdGuard {
  private readonly recent = new Set<string>();

  constructor(
    private readonly recorded: (requestId: string) => boolean,
    private readonly maxRecent = 100_000,
  ) {}

  /** True when the id is fresh; the id is then remembered. */
  claim(requestId: string): boolean {
    if (this.recent.has(requestId) || this.recorded(requestId)) return false;
    if (this.recent.size >= this.maxRecent) {
      // Oldest first (insertion order). Evicted ids are projected by now; the ledger still guards them.
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
    this.recent.add(requestId);
    return true;
  }

  /** Forget an id whose request was refused before anything was recorded, so the client may retry with it. */
  release(requestId: string): void {
    this.recent.delete(requestId);
  }
}
