#!/usr/bin/env node
// Entry point of the `geolip-bench` command: runs the built CLI (dist/cli.js). main() never throws; exit statuses
// are @geolip/cli's (0 ok, 1 error, 2 usage).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
