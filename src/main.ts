#!/usr/bin/env node
// Entry point of the `coffer` command: hands argv and the process's streams to the CLI and exits
// with its code. Everything else lives in importable modules without side effects.
import { runCli } from './cli/program.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
