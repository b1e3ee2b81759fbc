import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** The package version, read once from package.json (yargs would otherwise pick the nearest package.json). */
export const VERSION: string = (require('../package.json') as { version: string }).version;
