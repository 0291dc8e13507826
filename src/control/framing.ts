// Wire format of the control socket. The client sends one JSON line (the command); the daemon
// answers with frames [channel u8][length u32 BE][payload]: stdout and stderr bytes as the command
// writes them (binary-safe, so `show --raw` passes through untouched), then one exit frame.

export const Channels = { Stdout: 1, Stderr: 2, Exit: 3 } as const;
export type Channel = (typeof Channels)[keyof typeof Channels];

export interface ControlRequest {
  argv: string[];
  /** The client's working directory: relative paths in argv are the client's, not the daemon's. */
  cwd: string;
}

const HEADER_BYTES = 5;
export const MAX_REQUEST_BYTES = 1024 * 1024;

export function frame(channel: Channel, payload: Buffer): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt8(channel, 0);
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

export function exitFrame(code: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeInt32BE(code);
  return frame(Channels.Exit, payload);
}

/** Incremental decoder: feed it socket chunks, get whole frames back. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): { channel: number; payload: Buffer }[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: { channel: number; payload: Buffer }[] = [];
    while (this.pending.length >= HEADER_BYTES) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < HEADER_BYTES + length) break;
      frames.push({ channel: this.pending.readUInt8(0), payload: this.pending.subarray(HEADER_BYTES, HEADER_BYTES + length) });
      this.pending = this.pending.subarray(HEADER_BYTES + length);
    }
    return frames;
  }
}

export function controlSocketPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, '')}/control.sock`;
}
