/**
 * Help and input as a user meets them, through the built CLI: -h everywhere, completion scripts that work in bash,
 * "did you mean" for flags, example and footer layout at 80 and 120 columns, config errors that name the cause, and
 * one error shape (exit 2) for every input that is not there.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { closestFlag, unknownFlagMessage } from '../../src/cli/unknown-flag.js';
import { exampleLines, helpWidth, withoutHelpCache } from '../../src/cli/help.js';
import { completionScript } from '../../src/cli/completion.js';
import { assertBuilt, ROOT, runCli } from './run-cli.js';

let dir: string;
const env = () => ({ DPC_CONFIG: join(dir, 'config.json') });

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'dpc-help-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('pure pieces', () => {
  it('suggests the closest flag, and none for a word far from all', () => {
    expect(closestFlag('jsn', ['json', 'debug', 'quiet'])).toBe('json');
    expect(closestFlag('grop', ['group', 'npi', 'group-concurrency'])).toBe('group');
    expect(closestFlag('zzzzzz', ['json', 'debug'])).toBeUndefined();
    expect(unknownFlagMessage(['org', 'show', '--jsn'], 'Unknown argument: jsn', ['json', 'debug'])).toBe('unknown flag --jsn; did you mean --json? (`--help` lists the flags)');
    // a stray word is not a flag: left to the unknown-command story
    expect(unknownFlagMessage(['org', 'show', 'extra'], 'Unknown argument: extra', ['json'])).toBeUndefined();
  });

  it('stacks an example under its description; help width follows the terminal, else $COLUMNS, within 40..120', () => {
    expect(exampleLines('dpc auth token', 'an access token for curl')).toEqual(['# an access token for curl', 'dpc auth token']);
    expect(exampleLines('dpc x --aaa --bbb', 'one two three four', 18)).toEqual(['# one two', '# three four', 'dpc x --aaa \\', '--bbb']);
    expect([helpWidth(200, {}), helpWidth(undefined, { COLUMNS: '80' }), helpWidth(undefined, {}), helpWidth(10, {})]).toEqual([120, 80, 100, 40]);
    expect(completionScript('bash')).toContain('complete -o default -F _dpc_completions dpc');
    expect(completionScript('zsh')).toMatch(/^#compdef dpc\n/);
  });
});

describe('-h and completion', () => {
  it('-h is --help everywhere', async () => {
    for (const words of [[], ['export', 'run'], ['group', 'add'], ['roster']]) {
      const short = await runCli([...words, '-h'], { env: env() });
      const long = await runCli([...words, '--help'], { env: env() });
      expect(short.code, words.join(' ')).toBe(0);
      expect(short.stdout).toBe(long.stdout);
      expect(short.stdout).toMatch(/^dpc /);
    }
  });

  it('completes commands, subcommands, flags and profile names in a real bash', async () => {
    await writeFile(env().DPC_CONFIG, JSON.stringify({ profiles: { work: { baseUrl: 'https://dpc.example/api/v1' } } }));
    // `dpc` on PATH, as after `npm i -g`
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'dpc'), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, 'bin/dpc')}" "$@"\n`);
    await chmod(join(bin, 'dpc'), 0o755);
    const script = join(dir, 'dpc.bash');
    const printed = await runCli(['completion', 'bash'], { env: env() });
    expect(printed.code).toBe(0);
    await writeFile(script, printed.stdout);
    const complete = (...words: string[]) =>
      new Promise<string[]>((resolve, reject) => {
        const program = `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _dpc_completions; printf '%s\\n' "\${COMPREPLY[@]}"`;
        execFile('bash', ['-c', program], { env: { PATH: `${bin}:${process.env.PATH}`, ...env() } }, (error, stdout) => (error ? reject(error) : resolve(stdout.split('\n').filter(Boolean).sort())));
      });
    expect(await complete('dpc', 'ex')).toEqual(['export']);
    expect(await complete('dpc', 'export', 'v')).toEqual(['verify']);
    expect(await complete('dpc', 'export', 'run', '--js')).toEqual(['--json']);
    expect(await complete('dpc', 'export', 'run', '--all')).toEqual(['--all-groups']);
    expect(await complete('dpc', 'org', 'show', '--profile', '')).toEqual(['local', 'prod', 'sandbox', 'work']);
    expect(await complete('dpc', 'org', 'show', '--profile', 'w')).toEqual(['work']);
    const zsh = await runCli(['completion', 'zsh'], { env: env() });
    expect(zsh.stdout).toContain('compdef _dpc_completions dpc');
  });

  it('an unknown flag gets "did you mean", exit 2', async () => {
    const typo = await runCli(['org', 'show', '--jsn'], { env: env() });
    expect(typo).toMatchObject({ code: 2, stdout: '', stderr: 'error: unknown flag --jsn; did you mean --json? (`--help` lists the flags)\n' });
    const ownFlag = await runCli(['group', 'renew', '--dry-rn'], { env: env() });
    expect(ownFlag.stderr).toContain('did you mean --dry-run?');
  });
});

describe('help layout', () => {
  for (const columns of [80, 120]) {
    it(`at ${columns} columns: every example is "# what" above the whole command; footers fill their lines`, async () => {
      for (const words of [['roster', 'sync'], ['export', 'run'], ['group', 'add'], []]) {
        const { stdout } = await runCli([...words, '--help'], { env: { ...env(), COLUMNS: String(columns) } });
        const lines = stdout.split('\n');
        const examples = lines.slice(lines.indexOf('Examples:') + 1, lines.indexOf('', lines.indexOf('Examples:')));
        expect(examples.length, words.join(' ')).toBeGreaterThan(1);
        examples.forEach((line, i) => {
          if (line.startsWith('  # ')) expect(examples[i + 1], line).toMatch(/^ {2}(# |dpc |source )/);
          // a command line follows its description, or continues a command broken with \
          else expect(examples[i - 1], line).toMatch(/^ {2}# | \\$/);
          expect(line).not.toMatch(/\S {3,}\S/); // no second column
        });
        const footer = lines.slice(lines.indexOf('', lines.indexOf('Examples:')) + 1);
        for (const paragraph of footer.join('\n').split('\n\n')) {
          const rows = paragraph.split('\n').filter(Boolean);
          rows.forEach((row, i) => {
            expect(row.length, row).toBeLessThanOrEqual(columns);
            // filled greedily: the next row's first word would not have fitted
            if (i < rows.length - 1 && !/\.$/.test(row)) expect(row.length + 1 + rows[i + 1]!.split(' ')[0]!.length, row).toBeGreaterThan(columns);
          });
        }
      }
    });
  }
});

describe('help rendered only when asked for', () => {
  it("a command run does not render its help for later (the installed yargs' help cache is off)", () => {
    const cli = withoutHelpCache(yargs([]).command('x', 'a command'));
    const usage = (cli as unknown as { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void; hasCachedHelpMessage(): boolean } } })
      .getInternalMethods()
      .getUsageInstance();
    usage.cacheHelpMessage(); // what yargs calls once a command's handler has started
    expect(usage.hasCachedHelpMessage()).toBe(false);
  });
});

describe('config and missing inputs', () => {
  it('a config file that does not exist is named as the cause', async () => {
    const { code, stderr } = await runCli(['org', 'show'], { env: { DPC_CONFIG: '/nonexistent' } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: the config file \/nonexistent \(DPC_CONFIG\) does not exist, so profile "sandbox" has no client token/);
  });

  it('dpc init with nothing given and no terminal fails and writes nothing', async () => {
    const config = join(dir, 'init.json');
    const { code, stderr } = await runCli(['init'], { env: { DPC_CONFIG: config } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: nothing to save in profile "sandbox": give --client-token-file/);
    await expect(readFile(config)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('every missing input: `<path>: cannot read the <what> (not found)`, exit 2', async () => {
    const missing = join(dir, 'nosuch');
    const creds = { ...env(), DPC_BASE_URL: 'http://127.0.0.1:9/api/v1', DPC_ACCESS_TOKEN: 'fixed-token' };
    const cases: Array<[string[], string]> = [
      [['export', 'verify', missing], 'export folder'],
      [['roster', 'sync', missing], 'file'],
      [['practitioner', 'submit', missing], 'file'],
      [['keys', 'add', '--public-key', missing], 'public key'],
      [['init', '--client-token-file', missing], 'client token'],
      [['org', 'show', '--passphrase-file', missing], 'key passphrase file'],
      [['org', 'show', '--private-key', missing, '--client-token', 'tok', '--key-id', '320e91cd-11ad-4ee6-a49a-fe2795586638'], 'private key'],
    ];
    for (const [args, what] of cases) {
      const result = await runCli(args, { env: args.includes('--private-key') ? env() : creds });
      expect({ args, ...result }).toMatchObject({ code: 2, stdout: '', stderr: `error: ${missing}: cannot read the ${what} (not found)\n` });
    }
  });
});
