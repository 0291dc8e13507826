import { randomBytes } from 'node:crypto';
import test from 'ava';
import { isCofferError, ErrorCodes } from '../../../src/errors.js';
import { createSealer } from '../../../src/store/sealing.js';

const aad = Buffer.from('key-of-the-record');
const text = Buffer.from('Subject: secret plans\r\n\r\n' + 'The quick brown fox. '.repeat(200));

test('plain sealing compresses and round-trips', (t) => {
  const sealer = createSealer(null);
  const sealed = sealer.seal(text, aad);
  t.true(sealed.length < text.length / 2);
  t.deepEqual(sealer.open(sealed, aad), text);
});

test('values on either side of the window size change compress and round-trip, repeats far apart included', (t) => {
  const sealer = createSealer(null);
  // A repeat 100 KiB back is out of a 64 KiB window but inside a 256 KiB one.
  const far = randomBytes(100 * 1024);
  const repeated = Buffer.concat([far, far]);
  const justOver = Buffer.concat(Array<Buffer>(Math.ceil(65537 / text.length)).fill(text));
  for (const value of [justOver.subarray(0, 65536), justOver, repeated]) {
    const sealed = sealer.seal(value, aad);
    t.deepEqual(sealer.open(sealed, aad), value);
  }
  t.true(sealer.seal(repeated, aad).length < repeated.length * 0.6, 'a large value is compressed with a window that reaches its repeat');
});

test('incompressible and tiny values are stored as they are and round-trip', (t) => {
  const sealer = createSealer(null);
  for (const value of [randomBytes(5000), Buffer.from('x'), Buffer.alloc(0)]) t.deepEqual(sealer.open(sealer.seal(value, aad), aad), value);
});

test('encrypted values hide the plaintext and round-trip with the key', (t) => {
  const key = randomBytes(32);
  const sealer = createSealer(key);
  const sealed = sealer.seal(text, aad);
  t.false(sealed.includes(Buffer.from('secret plans')));
  t.false(sealed.includes(Buffer.from('quick brown')));
  t.deepEqual(createSealer(key).open(sealed, aad), text);
});

test('a wrong key, a tampered byte or a value moved under another key fail, never garbage', (t) => {
  const key = randomBytes(32);
  const sealed = createSealer(key).seal(text, aad);
  const wrongKey = t.throws(() => createSealer(randomBytes(32)).open(sealed, aad));
  t.true(isCofferError(wrongKey, ErrorCodes.StoreCorrupt));
  const tampered = Buffer.from(sealed);
  tampered[tampered.length - 3]! ^= 0x01;
  t.true(isCofferError(t.throws(() => createSealer(key).open(tampered, aad)), ErrorCodes.StoreCorrupt));
  t.true(isCofferError(t.throws(() => createSealer(key).open(sealed, Buffer.from('another key'))), ErrorCodes.StoreCorrupt));
});

test('an encrypted value without a key is a clear error', (t) => {
  const sealed = createSealer(randomBytes(32)).seal(text, aad);
  t.true(isCofferError(t.throws(() => createSealer(null).open(sealed, aad)), ErrorCodes.KeyMissing));
});

test('an unknown format byte is reported as corruption', (t) => {
  t.true(isCofferError(t.throws(() => createSealer(null).open(Buffer.from([0x7f, 1, 2]), aad)), ErrorCodes.StoreCorrupt));
});

test('an unencrypted value with a flipped byte, or moved under another key, fails its checksum', (t) => {
  const sealer = createSealer(null);
  for (const value of [text, Buffer.from('short metadata record')]) {
    const sealed = sealer.seal(value, aad);
    for (const at of [1, Math.floor(sealed.length / 2), sealed.length - 1]) {
      const damaged = Buffer.from(sealed);
      damaged[at]! ^= 0x5a;
      t.true(isCofferError(t.throws(() => sealer.open(damaged, aad)), ErrorCodes.StoreCorrupt), `byte ${at}`);
    }
    t.true(isCofferError(t.throws(() => sealer.open(sealed, Buffer.from('another key'))), ErrorCodes.StoreCorrupt));
  }
});
