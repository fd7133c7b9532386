import { SqliteEventStore } from '../src/store/sqlite-event-store.js';
const store = SqliteEventStore.open(process.argv[2]!);
for (let k = 0; k < 2; k++) {
  const t0 = performance.now(); let n = 0;
  for await (const e of store.readAll()) { if (e.type === 'DecisionRecorded') n++; }
  console.log(n, Math.round(n / ((performance.now() - t0) / 1000)), 'per s');
}
await store.close();
