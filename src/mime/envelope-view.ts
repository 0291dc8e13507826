// Reads the stored IMAP ENVELOPE back into display fields. The envelope is the single stored copy
// of subject and addresses (already MIME-decoded at ingest), so nothing is stored twice.

export interface EnvelopeAddress {
  name: string;
  address: string;
}

export interface EnvelopeView {
  date: string | null;
  subject: string;
  from: EnvelopeAddress[];
  sender: EnvelopeAddress[];
  replyTo: EnvelopeAddress[];
  to: EnvelopeAddress[];
  cc: EnvelopeAddress[];
  bcc: EnvelopeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

export function viewEnvelope(envelope: readonly unknown[]): EnvelopeView {
  return {
    date: text(envelope[0]),
    subject: text(envelope[1]) ?? '',
    from: addresses(envelope[2]),
    sender: addresses(envelope[3]),
    replyTo: addresses(envelope[4]),
    to: addresses(envelope[5]),
    cc: addresses(envelope[6]),
    bcc: addresses(envelope[7]),
    inReplyTo: text(envelope[8]),
    messageId: text(envelope[9]),
  };
}

export function formatAddress({ name, address }: EnvelopeAddress): string {
  return name ? `${name} <${address}>` : address;
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  return null;
}

function addresses(value: unknown): EnvelopeAddress[] {
  if (!Array.isArray(value)) return [];
  return value.map((item: unknown) => {
    const [name, , mailbox, host] = Array.isArray(item) ? item : [];
    const local = text(mailbox) ?? '';
    const domain = text(host);
    return { name: text(name) ?? '', address: domain ? `${local}@${domain}` : local };
  });
}
