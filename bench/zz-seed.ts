import { SqliteEventStore } from '../src/store/sqlite-event-store.js';
import { seed } from './audit.js';
const store = SqliteEventStore.open(process.argv[2]!);
const r = await seed(store, Number(process.argv[3]));
console.log(r.events, r.requestIds.length);
await store.close();
