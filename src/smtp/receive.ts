// Reads the DATA stream: the only consumer of it (convention 7). Bytes are kept up to the limit
// and counted beyond it; the stream is always read to its end, so that smtp-server can answer
// (it replies only once the stream has ended) and the connection stays usable after a 552.
import type { SMTPServerDataStream } from 'smtp-server';

export type Received = { kind: 'message'; raw: Buffer } | { kind: 'too-big'; size: number };

export async function receiveMessage(stream: SMTPServerDataStream, limit: number): Promise<Received> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    else if (chunks.length > 0) chunks.length = 0; // over the limit: stop holding memory, keep draining
  }
  // sizeExceeded covers the server-wide SIZE limit, which smtp-server counts itself.
  if (stream.sizeExceeded || size > limit) return { kind: 'too-big', size };
  return { kind: 'message', raw: Buffer.concat(chunks, size) };
}
