import type { EventStore } from '../../src/store/event-store.js';
import { StoreUnavailableError } from '../../src/store/store-errors.js';

/**
 * FAILURE INJECTION ONLY. A pass-through wrapper around a real ledger whose appends can be made to fail or be
 * held back on demand. Everything else goes to the real store unchanged; the STS suites use it for nothing but
 * proving record-before-issue (an append that fails or is still pending means no mandate).
 */
export interface FailingStore extends EventStore {
  /** Streams matching this prefix fail their appends while set. */
  failPrefix: string | undefined;
  /** While set, appends to matching streams wait for `release()`. */
  holdPrefix: string | undefined;
  release(): void;
  /** Number of appends currently held. */
  readonly held: number;
}

export function failingStore(inner: EventStore): FailingStore {
  let releaseAll: Array<() => void> = [];
  const wrapper: FailingStore = {
    failPrefix: undefined,
    holdPrefix: undefined,
    get held() {
      return releaseAll.length;
    },
    release() {
      const r = releaseAll;
      releaseAll = [];
      for (const f of r) f();
    },
    async appendToStream(stream, events, options) {
      if (wrapper.failPrefix !== undefined && stream.startsWith(wrapper.failPrefix)) {
        throw new StoreUnavailableError('injected: disk on fire at /var/lib/writ/ledger.db');
      }
      if (wrapper.holdPrefix !== undefined && stream.startsWith(wrapper.holdPrefix)) {
        await new Promise<void>((resolve) => releaseAll.push(resolve));
      }
      return inner.appendToStream(stream, events, options);
    },
    readStream: (stream, options) => inner.readStream(stream, options),
    readAll: (options) => inner.readAll(options),
    subscribeToAll: (options) => inner.subscribeToAll(options),
    headPosition: () => inner.headPosition(),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
  return wrapper;
}
