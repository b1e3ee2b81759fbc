// A process racing for export locks (test/export/lock-race.test.ts): for each folder read from stdin it tries
// acquireLock once and prints the outcome as one JSON line. A lock it wins is held until stdin ends.
import { createInterface } from 'node:readline';

const { acquireLock } = await import(new URL('../../dist/export/lock.js', import.meta.url).href);
process.stdout.write('ready\n');
for await (const dir of createInterface({ input: process.stdin })) {
  const outcome = await acquireLock(dir).then(
    () => ({ dir, held: true }),
    (error) => ({ dir, held: false, code: error.code, message: error.message }),
  );
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}
