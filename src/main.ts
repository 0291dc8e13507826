#!/usr/bin/env -S node --max-semi-space-size=4
// Entry point of the `coffer` command: hands argv and the process's streams to the CLI and exits
// with its code. Everything else lives in importable modules without side effects.
// The flag: V8 sizes the young generation for big application heaps (32 MB); ingest keeps little
// alive between messages, and 8 MB costs no CPU (bench/README.md "Where the memory goes").
import { runCli } from './cli/program.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
