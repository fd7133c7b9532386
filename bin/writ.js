#!/usr/bin/env node
// Launcher for `writ` / `npx writ`: registers tsx in this process and runs the TypeScript CLI, so there is
// no build step, no second node process, and signals (SIGTERM to `writ serve`) reach the server itself.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/main.ts');
const argv = process.argv.slice(2);
const code = await runCli(argv);
// A started `serve` keeps running until SIGINT/SIGTERM; everything else exits with its code.
if (argv[0] !== 'serve' || code !== 0) process.exit(code);
