// Daemon side of the control socket (<dataDir>/control.sock, mode 0600 inside the 0700 data
// directory, so only the daemon's own user can use it). Each connection carries one CLI command,
// run in the daemon against its open store and streamed back with the exit code.
import { chmod, unlink } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { Output } from '../cli/output.js';
import type { Component } from '../lifecycle.js';
import type { Logger } from '../log/logger.js';
import { Channels, exitFrame, frame, MAX_REQUEST_BYTES, type Channel, type ControlRequest } from './framing.js';

/** Runs one CLI command line with the daemon's resources and returns its exit code. */
export type CommandRunner = (request: ControlRequest, output: Output) => Promise<number>;

export function createControlComponent(options: { socketPath: string; run: CommandRunner; logger: Logger }): Component {
  const { socketPath, run, logger } = options;
  const connections = new Set<Socket>();
  const running = new Set<Promise<unknown>>();
  let server: Server | undefined;

  const handle = (socket: Socket): void => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', (err) => logger.debug({ err }, 'control connection error'));
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const newline = received.indexOf(0x0a);
      if (newline === -1) {
        if (received.length > MAX_REQUEST_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      const task = execute(socket, received.subarray(0, newline)).finally(() => running.delete(task));
      running.add(task);
    };
    socket.on('data', onData);
  };

  const execute = async (socket: Socket, line: Buffer): Promise<void> => {
    const output: Output = { stdout: framedStream(socket, Channels.Stdout), stderr: framedStream(socket, Channels.Stderr) };
    let code: number;
    try {
      const request = parseRequest(line);
      logger.info({ command: request.argv[0], subcommand: request.argv[1] }, 'control command');
      code = await run(request, output);
    } catch (err) {
      logger.error({ err }, 'control command failed');
      output.stderr.write(`coffer: the daemon could not run the command: ${err instanceof Error ? err.message : String(err)}\n`);
      code = 1;
    }
    if (!socket.destroyed) socket.end(exitFrame(code));
  };

  return {
    name: 'control',
    async start() {
      await removeStaleSocket(socketPath);
      server = createServer({ allowHalfOpen: true }, handle);
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(socketPath, () => resolve());
      });
      await chmod(socketPath, 0o600);
      logger.info({ socket: socketPath }, 'control socket listening');
    },
    async stop() {
      const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      // Commands in flight (an import, a verify) run to completion before the store closes.
      await Promise.allSettled([...running]);
      for (const socket of connections) socket.destroy();
      await closed;
    },
  };
}

function parseRequest(line: Buffer): ControlRequest {
  const value = JSON.parse(line.toString('utf8')) as Partial<ControlRequest>;
  if (!Array.isArray(value.argv) || !value.argv.every((arg) => typeof arg === 'string') || typeof value.cwd !== 'string') {
    throw new Error('malformed control request');
  }
  return { argv: value.argv, cwd: value.cwd };
}

/** A writable whose chunks travel as frames of one channel; honours the socket's backpressure. */
function framedStream(socket: Socket, channel: Channel): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (socket.destroyed) return callback();
      if (socket.write(frame(channel, chunk))) callback();
      else socket.once('drain', () => callback());
    },
  });
}

/** A socket file left by a daemon killed with -9 is removed; one a live daemon answers on is not. */
async function removeStaleSocket(path: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another Coffer daemon is listening on ${path}`);
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
