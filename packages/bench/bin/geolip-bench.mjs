#!/usr/bin/env node
// Entry point of the `geolip-bench` command: runs the built CLI (dist/cli.js).
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`geolip-bench: error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
