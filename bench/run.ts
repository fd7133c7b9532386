/**
 * `npm run bench`: runs every benchmark of writ in one process tree on this machine and writes one JSON
 * document (bench-results/latest.json) plus a Markdown table (bench-results/latest.md, also printed).
 * Ratios against baselines measured in the same run come first; absolute figures second.
 *
 * `npm run bench -- ledger policy` runs a subset.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';

type Figures = Record<string, number | string>;
const suites: Record<string, () => Promise<Figures>> = {
  ledger: async () => (await import('./ledger.js')).benchLedger({}),
  rebuild: async () => (await import('./rebuild.js')).benchRebuild({}),
  policy: async () => (await import('./policy.js')).benchPolicy(),
  exchange: async () => (await import('./exchange.js')).benchExchange(),
  audit: async () => (await import('./audit.js')).benchAudit(),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const names = wanted.length ? wanted : Object.keys(suites);
  const machine = {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  const results: Record<string, Figures> = {};
  for (const name of names) {
    const run = suites[name];
    if (!run) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(suites).join(', ')}`);
    process.stderr.write(`[bench] ${name}…\n`);
    const started = Date.now();
    try {
      results[name] = { ...(await run()), wall_seconds: Math.round((Date.now() - started) / 100) / 10 };
    } catch (err) {
      results[name] = { error: err instanceof Error ? err.message : String(err) };
    }
    process.stderr.write(`[bench] ${name}: ${JSON.stringify(results[name])}\n`);
  }
  const doc = { ran_at: new Date().toISOString(), machine, results };
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/latest.json', `${JSON.stringify(doc, null, 2)}\n`);
  const md = toMarkdown(doc);
  await writeFile('bench-results/latest.md', md);
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

function toMarkdown(doc: { ran_at: string; machine: Record<string, unknown>; results: Record<string, Figures> }): string {
  const lines = [`Ran ${doc.ran_at} on ${doc.machine.cpus} × ${doc.machine.cpu_model}, ${doc.machine.memory_gib} GiB, Node ${doc.machine.node}.`, '', '| suite | figure | value |', '|---|---|---|'];
  for (const [suite, figures] of Object.entries(doc.results)) {
    // Ratios first: they are what stays comparable across machines.
    const entries = Object.entries(figures).sort(([a], [b]) => Number(!a.includes('ratio')) - Number(!b.includes('ratio')));
    for (const [k, v] of entries) lines.push(`| ${suite} | ${k} | ${typeof v === 'number' ? formatNumber(v) : v} |`);
  }
  return `${lines.join('\n')}\n`;
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(3);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
