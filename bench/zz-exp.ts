import { exportOnly } from './audit.js';
console.log(JSON.stringify(await exportOnly(process.argv[2]!, process.argv[3] as 'ndjson')));
