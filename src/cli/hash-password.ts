// `coffer hash-password`: prints the scrypt hash to put in the config as a passwordHash. The
// password is read from standard input (asked for without echo on a terminal), never taken from
// argv, where other users of the machine could read it in the process list.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { hashPassword } from '../auth/password.js';
import { CofferError, ErrorCodes } from '../errors.js';
import { printLine, type Output } from './output.js';

export async function runHashPassword(input: NodeJS.ReadableStream & { isTTY?: boolean }, output: Output): Promise<void> {
  const password = input.isTTY ? await promptHidden(input, output.stderr) : await readFirstLine(input);
  if (!password) throw new CofferError(ErrorCodes.InvalidArgument, 'no password given on standard input');
  printLine(output.stdout, await hashPassword(password));
}

async function readFirstLine(input: NodeJS.ReadableStream): Promise<string> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

function promptHidden(input: NodeJS.ReadableStream, prompt: NodeJS.WritableStream): Promise<string> {
  prompt.write('Password: ');
  const muted = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const lines = createInterface({ input, output: muted, terminal: true });
  return new Promise((resolve) => {
    lines.once('line', (line) => {
      prompt.write('\n');
      lines.close();
      resolve(line);
    });
  });
}
