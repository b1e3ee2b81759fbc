/**
 * What ships and what stays out of git: the CC0 LICENSE the package.json names, the tour's output folders ignored,
 * `npm run bench` leaving the tracked results alone unless asked (`--save`), and the README naming the whole API.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli/run-cli.js';

const run = promisify(execFile);

describe('repository files', () => {
  it('ships the CC0 1.0 text as LICENSE, as package.json declares', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { license: string; files: string[] };
    expect(pkg.license).toBe('CC0-1.0');
    expect(pkg.files).toContain('LICENSE');
    const text = await readFile(join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^Creative Commons Legal Code\n\nCC0 1\.0 Universal\n/);
    expect(text).toContain('Statement of Purpose');
    expect(text).toContain('4. Limitations and Disclaimers.');
  });

  it("ignores every relative output path the README's examples write (--out, --dir)", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const outputs = new Set([...readme.matchAll(/dpc [^\n|`]*?--(?:out|dir) ([\w.-]+)/g)].map((m) => m[1]!));
    outputs.add('dpc-export'); // export run's default --out
    expect([...outputs]).toEqual(expect.arrayContaining(['exports', 'demo', 'keys']));
    for (const path of outputs) {
      // a file inside it (or the file itself) is ignored: `git check-ignore` exits 0
      const inside = path.includes('.') ? path : `${path}/x.ndjson`;
      await expect(run('git', ['check-ignore', '-q', inside], { cwd: ROOT }), path).resolves.toBeDefined();
    }
    // and the shipped example keys are not
    await expect(run('git', ['check-ignore', '-q', 'keys.example/public.pem'], { cwd: ROOT })).rejects.toMatchObject({ code: 1 });
  });

  it("the README's API table names every value src/index.ts exports", async () => {
    const index = await readFile(join(ROOT, 'src', 'index.ts'), 'utf8');
    const exported = [...index.matchAll(/^export \{([^}]*)\}/gm)].flatMap((m) => m[1]!.split(',').map((name) => name.trim().split(/\s+as\s+/).pop()!));
    expect(exported).toEqual(expect.arrayContaining(['createClient', 'runExport', 'cancelExport']));
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('The whole API'), readme.indexOf('Option and result types'));
    expect(exported.filter((name) => name !== '' && !table.includes(`\`${name}\``))).toEqual([]);
  });

  it('npm run bench writes its results to a temp folder, not the tracked bench/results.json, unless --save', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'dpc-bench-'));
    try {
      const before = await stat(join(ROOT, 'bench', 'results.json'));
      // a section name that matches none: no benchmark runs, only the results file is written
      const { stdout } = await run(process.execPath, [join(ROOT, 'bench', 'run.mjs'), 'no-such-section'], { cwd: ROOT, env: { ...process.env, TMPDIR: tmp } });
      const target = join(tmp, 'dpc-client-bench', 'results.json');
      expect(stdout).toContain(`wrote ${target} (npm run bench -- --save writes bench/results.json)`);
      expect(JSON.parse(await readFile(target, 'utf8'))).toMatchObject({ sections: {} });
      expect((await stat(join(ROOT, 'bench', 'results.json'))).mtimeMs).toBe(before.mtimeMs);
      expect(await readdir(tmp)).toEqual(['dpc-client-bench']);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
