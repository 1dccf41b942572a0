/**
 * `turnlane hash-password [user]`: reads a password on standard input (never an argument, which
 * other users see in `ps`) and prints the hash OPERATOR_CREDENTIALS takes, or `user:hash` with a
 * user name. Refuses passwords under 12 characters.
 */
import type { Command } from 'commander';
import { hashPassword } from '../../server/passwords.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One trailing newline is the terminal's, not the password's.
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerOperatorCommands(program: Command): void {
  program
    .command('hash-password')
    .description('hash a password read from standard input for OPERATOR_CREDENTIALS (salted scrypt)')
    .argument('[user]', 'print user:hash, ready for OPERATOR_CREDENTIALS')
    .action(async (user: string | undefined) => {
      if (user !== undefined && !/^[^:\s,]{1,64}$/.test(user)) throw new Error('user: expected 1–64 characters without ":", "," or spaces');
      const hash = await hashPassword(await readStdin());
      process.stdout.write(`${user !== undefined ? `${user}:` : ''}${hash}\n`);
    });
}
