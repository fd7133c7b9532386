import { MemoryEventStore } from '../../src/store/memory-event-store.js';
import { eventStoreContract } from '../contracts/event-store.js';

eventStoreContract('MemoryEventStore', async () => {
  const store = new MemoryEventStore();
  return { store, cleanup: () => store.close() };
});
