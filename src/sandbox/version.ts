import { readFileSync } from 'node:fs';

// The sandbox imports nothing from the client library, so it reads the package version itself
// (src/sandbox/ and dist/sandbox/ both sit two levels below package.json).
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
