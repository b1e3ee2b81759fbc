/**
 * The package as a user gets it: `npm pack`, installed once into a fresh project together with TypeScript 5 and
 * @types/node. Then: the installed `dpc` works and every command's help carries examples; the README's library
 * example compiles with `strict` and without `skipLibCheck`; a wrong FHIR field type does not (so FHIR types are
 * real, not `any`). TypeScript 5 because a consumer's tsc loads `@types` by itself there (TypeScript 7 has no JS API
 * and loads none unless listed).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from '../cli/run-cli.js';

const run = promisify(execFile);
let dir: string | undefined;
let project: string;

const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024 });

/** The README's `## Library` section's first TypeScript block, so the example and the test cannot drift apart. */
export function readmeLibraryExample(readme: string): string {
  const section = readme.slice(readme.indexOf('\n## Library\n'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md: no ```ts block in the "Library" section');
  return block[1]!;
}

const TSCONFIG = {
  compilerOptions: {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    exactOptionalPropertyTypes: false,
    noUncheckedIndexedAccess: true,
  },
};

async function tsc(config: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config], { cwd: project });
    return { code: 0, output: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'dpc-pack-'));
  const { stdout: packed } = await npm(['pack', '--silent', '--pack-destination', dir], ROOT);
  const tarball = join(dir, packed.trim().split('\n').at(-1)!);
  project = join(dir, 'project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, 'typescript@5', '@types/node@20'], project);
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

it('installs from its tarball and `dpc --help` shows examples for every command', { timeout: 120_000 }, async () => {
  // the bin npm linked for the package (what `npx dpc` runs), without another npm process
  const dpc = join(project, 'node_modules', '.bin', 'dpc');
  const { stdout: help } = await run(dpc, ['--help']);
  expect(help).toMatch(/^dpc <command> \[options\]/);
  expect(help).toContain('Examples:');
  const { stdout: version } = await run(dpc, ['--version']);
  expect(version.trim()).toMatch(/^\d+\.\d+\.\d+/);

  // every command and subcommand, walked in one process through the installed entry point
  const main = join(project, 'node_modules', 'dpc-client', 'dist', 'cli', 'main.js');
  const { stdout } = await run(process.execPath, [join(ROOT, 'test', 'help-walk.mjs'), main], { maxBuffer: 16 * 1024 * 1024 });
  const helps = JSON.parse(stdout) as Record<string, string>;
  for (const name of ['init', 'auth token', 'auth assertion', 'auth validate', 'keys generate', 'keys add', 'keys list', 'keys show', 'keys delete', 'tokens list', 'tokens create', 'tokens delete']) {
    expect(Object.keys(helps)).toContain(name);
  }
  const withoutExamples = Object.entries(helps).filter(([, text]) => !text.includes('Examples:')).map(([name]) => `dpc ${name}`.trim());
  expect(withoutExamples).toEqual([]);
});

describe('a TypeScript consumer (strict, no skipLibCheck)', () => {
  it('compiles the README library example, and rejects a wrong FHIR field type (FHIR types are real, not `any`)', { timeout: 180_000 }, async () => {
    const example = readmeLibraryExample(await readFile(join(ROOT, 'README.md'), 'utf8'));
    expect(example).toContain("from 'dpc-client'");
    await writeFile(join(project, 'readme-example.ts'), example);
    await writeFile(
      join(project, 'wrong-field.ts'),
      [
        "import { buildPatient, type fhir3 } from 'dpc-client';",
        "const patient: fhir3.Patient = { resourceType: 'Patient', gender: 42 };",
        "const built: fhir3.Patient = buildPatient({ mbi: '1SQ3F00AA00', given: 'A', family: 'B', birthDate: '1950-01-02', gender: 'female' });",
        'console.log(patient, built);',
        'export {};',
        '',
      ].join('\n'),
    );
    // one compilation for both files (tsc is slow on a busy machine): exactly the one deliberate error, none from
    // the README example or the package's own declarations
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: ['readme-example.ts', 'wrong-field.ts'] }));
    const result = await tsc('tsconfig.json');
    expect(result.output.trim().split('\n').filter((l) => /error TS\d+/.test(l))).toEqual([expect.stringMatching(/^wrong-field\.ts\(2,\d+\): error TS2322: .*number.*/)]);
    expect(result.code).not.toBe(0);
  });

  it('exposes only the two entry points: internals cannot be imported', { timeout: 60_000 }, async () => {
    const probe = [
      "const lib = await import('dpc-client');",
      "const sandbox = await import('dpc-client/sandbox');",
      'const internals = ["headerValue", "backoffDelay", "fileExists", "writeOwnerOnly", "withProfile", "tuneForStreaming", "registerWithSandbox", "resolveSettings", "ExitCode"];',
      'let deep = "importable";',
      "try { await import('dpc-client/dist/fs.js'); } catch { deep = 'blocked'; }",
      'console.log(JSON.stringify({ leaked: internals.filter((n) => n in lib), createClient: typeof lib.createClient, startSandbox: typeof sandbox.startSandbox, registerWithSandbox: typeof sandbox.registerWithSandbox, deep }));',
    ].join('\n');
    await writeFile(join(project, 'probe.mjs'), probe);
    const { stdout } = await run(process.execPath, ['probe.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ leaked: [], createClient: 'function', startSandbox: 'function', registerWithSandbox: 'function', deep: 'blocked' });
  });
});
