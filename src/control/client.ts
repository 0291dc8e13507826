// CLI side of the control socket: when the daemon is running it holds the store (LevelDB admits
// one process), so the CLI hands it the command line and relays what the command prints.
import { connect } from 'node:net';
import type { Output } from '../cli/output.js';
import { Channels, FrameReader, type ControlRequest } from './framing.js';

/** Runs the command in the daemon; null when no daemon listens on the socket. */
export function forwardToDaemon(socketPath: string, request: ControlRequest, output: Output): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const reader = new FrameReader();
    let connected = false;
    let exitCode: number | null = null;
    socket.once('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify(request)}\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      for (const { channel, payload } of reader.push(chunk)) {
        if (channel === Channels.Stdout) output.stdout.write(payload);
        else if (channel === Channels.Stderr) output.stderr.write(payload);
        else if (channel === Channels.Exit) exitCode = payload.readInt32BE(0);
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // No socket file, or a stale one left by a daemon that died: nobody is there.
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) resolve(null);
      else reject(err);
    });
    socket.on('close', () => {
      if (!connected) return;
      if (exitCode === null) reject(new Error('the daemon closed the control connection before the command finished'));
      else resolve(exitCode);
    });
  });
}
