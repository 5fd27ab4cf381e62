#!/usr/bin/env node
// Entry point of the `geolip-export` command: runs the built CLI (dist/cli.js). main() never throws.
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
