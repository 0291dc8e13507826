#!/usr/bin/env -S node --max-semi-space-size=4 --max-old-space-size=1024 --single-threaded-gc
// Entry point of the `coffer` command: hands argv and the process's streams to the CLI and exits
// with its code. Everything else lives in importable modules without side effects.
// The flags (bench/README.md "Where the memory goes"): V8 sizes the young generation for big
// application heaps (32 MB); ingest keeps little alive between messages, and 8 MB costs no CPU.
// A heap limit below V8's default (4 GB here) also lowers how far V8 lets the old generation grow
// between full collections (4x what is live, 1.6x under 1 GB), and only those free the message
// buffers that outlived a young collection: a 100,000-message pull peaked at 416 MiB without it,
// ~300 with it. Coffer's heap holds no message bodies, so 1 GB leaves room to spare.
// Each thread collects its own garbage (--single-threaded-gc): its heap is tens of MB, and V8's
// helper threads for it only competed with the ingest threads for the cores (a 2-core pull: 15%
// less CPU, 1,370 against 1,189-1,240 msg/s).
import { runCli } from './cli/program.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() });
