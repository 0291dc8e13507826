// A TCP proxy on 127.0.0.1 that can cut a connection after an exact number of server→client bytes,
// to test what a client does when the server drops the connection mid-response (mid-FETCH,
// mid-RETR), and can slip extra server lines in ahead of a client command (unsolicited IMAP
// responses). It forwards bytes untouched otherwise, so use it in front of plain (non-TLS) ports:
// cutting a TLS stream tests the TLS layer rather than the protocol client.
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface DropProxy {
  host: string;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /**
   * Arms a one-shot cut: once `bytesFromServer` more bytes have flowed server→client on the
   * current connection (the most recently accepted one still open) or, if none is open, on the
   * next one, exactly that many bytes are delivered to the client and then both sockets are
   * destroyed (the client sees the connection end; the server sees it end too).
   */
  cutAfter(bytesFromServer: number): void;
  /**
   * From now on, whenever a client→server chunk matches `command`, `lines(chunk)` is written to
   * the client before the chunk goes on to the server. A client that waits for each command's
   * completion (no pipelining) has the server's output at a response boundary then, so the lines
   * reach it as if the server had sent them at the start of the command's answer.
   */
  injectBefore(command: RegExp, lines: (chunk: string) => string): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket;
  /** Bytes that may still pass server→client before the cut; undefined when not armed. */
  budget: number | undefined;
  cut: boolean;
}

export async function startDropProxy(target: { host?: string; port: number }): Promise<DropProxy> {
  const targetHost = target.host ?? '127.0.0.1';
  const pairs = new Set<Pair>();
  let current: Pair | undefined;
  let armed: number | undefined;
  let accepted = 0;
  const injections: { command: RegExp; lines: (chunk: string) => string }[] = [];

  function cut(pair: Pair): void {
    pair.cut = true;
    pair.server.destroy();
    pair.client.destroy();
  }

  const proxy = createServer((client) => {
    accepted++;
    const server = connect({ host: targetHost, port: target.port });
    const pair: Pair = { client, server, budget: armed, cut: false };
    armed = undefined;
    pairs.add(pair);
    current = pair;

    server.on('data', (chunk: Buffer) => {
      if (pair.cut) return;
      if (pair.budget === undefined || chunk.length < pair.budget) {
        if (pair.budget !== undefined) pair.budget -= chunk.length;
        if (!client.write(chunk)) server.pause();
        return;
      }
      const head = chunk.subarray(0, pair.budget);
      pair.budget = 0;
      pair.cut = true;
      server.destroy();
      // Deliver the allowed bytes first; destroy() right away would discard them.
      if (head.length > 0) client.write(head, () => client.destroy());
      else client.destroy();
    });
    client.on('drain', () => server.resume());
    client.on('data', (chunk: Buffer) => {
      if (pair.cut) return;
      const text = chunk.toString('latin1');
      for (const injection of injections) if (injection.command.test(text)) client.write(injection.lines(text));
      if (!server.write(chunk)) client.pause();
    });
    server.on('drain', () => client.resume());
    // An orderly end is passed on after the pending bytes; an error or a cut ends both at once.
    server.on('end', () => client.end());
    client.on('end', () => server.end());
    server.on('error', () => client.destroy());
    client.on('error', () => server.destroy());
    server.on('close', (hadError) => (hadError ? client.destroy() : client.end()));
    client.on('close', () => {
      server.destroy();
      pairs.delete(pair);
      if (current === pair) current = undefined;
    });
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');

  return {
    host: '127.0.0.1',
    port: (proxy.address() as AddressInfo).port,
    get connections() {
      return accepted;
    },
    cutAfter(bytesFromServer) {
      if (!Number.isInteger(bytesFromServer) || bytesFromServer < 0) throw new Error(`cutAfter: bad byte count ${bytesFromServer}`);
      if (current && !current.cut) {
        current.budget = bytesFromServer;
        if (bytesFromServer === 0) cut(current);
      } else {
        armed = bytesFromServer;
      }
    },
    injectBefore(command, lines) {
      injections.push({ command, lines });
    },
    async close() {
      for (const pair of pairs) cut(pair);
      pairs.clear();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
