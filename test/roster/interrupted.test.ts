/**
 * A sync or renewal that fails part way (a 500, a 422 for one member, a connection reset before or after the server
 * applied the write): the error says exactly what was applied, what failed and what was not sent; DPC holds exactly
 * that; and running the same command again finishes the job without registering anyone twice. The sandbox sits
 * behind a proxy that fails chosen writes (failing-proxy.ts); each test has its own sandbox.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type DpcClient } from '../../src/client.js';
import { listGroups } from '../../src/fhir/groups.js';
import { listPatients } from '../../src/fhir/patients.js';
import { attributedNpi } from '../../src/fhir/resources.js';
import { renewExpiring } from '../../src/roster/renew.js';
import { PartlyAppliedError } from '../../src/roster/steps.js';
import { syncRoster } from '../../src/roster/sync.js';
import { DAY, rosterFixture, type RosterFixture } from './fixture.js';
import { startFailingProxy, type FailingProxy } from './failing-proxy.js';
import { runCli } from '../cli/run-cli.js';

interface Setup {
  fx: RosterFixture;
  proxy: FailingProxy;
  /** The seeded org's client, through the proxy (tokens straight from the sandbox: the assertion's audience is its URL). */
  client: DpcClient;
}

async function withProxiedSandbox(run: (s: Setup) => Promise<void>): Promise<void> {
  const fx = await rosterFixture();
  const proxy = await startFailingProxy(fx.sandbox.origin);
  const seed = fx.sandbox.seed!;
  const client = createClient({
    baseUrl: proxy.baseUrl,
    tokenUrl: `${fx.sandbox.baseUrl}/Token/auth`,
    scope: 'system/*.*',
    clientToken: seed.clientToken,
    privateKey: fx.privateKeyPem,
    keyId: seed.keyId,
    now: () => fx.sandbox.clock.now(),
    authNow: () => fx.sandbox.authClock.now(),
    retry: { baseDelayMs: 10, maxDelayMs: 50 },
  });
  try {
    await run({ fx, proxy, client });
  } finally {
    await client.close();
    await proxy.close();
    await fx.close();
  }
}

async function failure(run: () => Promise<unknown>): Promise<PartlyAppliedError<unknown>> {
  const err = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof PartlyAppliedError)) throw new Error(`expected a PartlyAppliedError, got ${String(err)}`);
  return err;
}

/** Per practitioner NPI, the MBIs of the active members. */
async function activeMembers(fx: RosterFixture): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const g of await listGroups(fx.client)) out[attributedNpi(g)!] = (g.member ?? []).filter((m) => !m.inactive).length;
  return out;
}

// a new patient (registered from its columns) and members for three of the seeded practitioners
const ROSTER = [
  'MBI,NPI,given,family,birth_date,gender',
  '1S00E00ZZ01,1232131239,Ann,Lee,1950-01-02,F',
  '1S00E00AA01,1232131239,,,,',
  '1S00E00AA02,2323232225,,,,',
  '1S00E00AA03,1234329724,,,,',
].join('\n');

const AGAIN = 'run the sync again: it reads what DPC holds and sends only what is left';

/** The report of a first ROSTER sync stopped at its second group write (`failed` says how). */
function stoppedAtSecondGroup(failed: string): unknown[] {
  return [
    'applied: registered 1 patient',
    expect.stringMatching(/^applied: practitioner 1232131239: created group [\w-]+ with 2 members$/),
    failed,
    'not sent: practitioner 1234329724: create a group with 1 member',
    AGAIN,
  ];
}

describe('a sync that fails part way', () => {
  it('500 on the second group: reports what was applied and not sent, DPC holds exactly that, and a rerun sends only the rest', () =>
    withProxiedSandbox(async ({ fx, proxy, client }) => {
      proxy.failNext(/^POST \/Group$/, { status: 500, message: 'Internal Server Error' }, 1);
      const err = await failure(() => syncRoster(client, { file: 'r.csv', text: ROSTER }));
      expect([err.code, err.status, err.requestId]).toEqual(['ERR_SERVER', 500, 'proxy-failure']);
      expect(err.message).toBe('POST /api/v1/Group failed with 500: Internal Server Error');
      expect(err.details).toEqual(stoppedAtSecondGroup('failed: practitioner 2323232225: create a group with 1 member'));
      expect(err.applied).toEqual({ registeredPractitioners: 0, registeredPatients: 1, groups: [{ npi: '1232131239', groupId: expect.any(String), created: true, added: 2, renewed: 0, removed: 0 }] });
      expect(await activeMembers(fx)).toEqual({ '1232131239': 2 });

      proxy.writes.length = 0;
      const { result } = await syncRoster(client, { file: 'r.csv', text: ROSTER });
      expect(proxy.writes).toEqual(['POST /Group', 'POST /Group']);
      expect(result!.groups.map((g) => [g.npi, g.created, g.added])).toEqual([['2323232225', true, 1], ['1234329724', true, 1]]);
      expect(await activeMembers(fx)).toEqual({ '1232131239': 2, '2323232225': 1, '1234329724': 1 });
      expect(await listPatients(fx.client)).toHaveLength(101);
    }));

  it('connection resets: a $submit is retried (DPC returns patients it has), a group write is unconfirmed; reruns register nobody twice', () =>
    withProxiedSandbox(async ({ fx, proxy, client }) => {
      proxy.failNext(/^POST \/Patient\/\$submit$/, 'reset-after');
      proxy.failNext(/^POST \/Group$/, 'reset-after', 1);
      const lost = await failure(() => syncRoster(client, { file: 'r.csv', text: ROSTER }));
      expect(lost.code).toBe('ERR_NETWORK');
      expect(lost.details).toEqual(stoppedAtSecondGroup('unconfirmed: practitioner 2323232225: create a group with 1 member (no answer came; DPC may have applied it)'));
      expect(proxy.writes).toEqual(['POST /Patient/$submit', 'POST /Patient/$submit', 'POST /Group', 'POST /Group']);
      expect(await listPatients(fx.client)).toHaveLength(101);
      expect(await activeMembers(fx)).toEqual({ '1232131239': 2, '2323232225': 1 }); // the unconfirmed write was applied

      proxy.writes.length = 0;
      proxy.failNext(/^POST \/Group$/, 'reset-before');
      const reset = await failure(() => syncRoster(client, { file: 'r.csv', text: ROSTER }));
      expect(reset.details).toEqual([
        'applied: nothing',
        'unconfirmed: practitioner 1234329724: create a group with 1 member (no answer came; DPC may have applied it)',
        AGAIN,
      ]);
      expect(proxy.writes).toEqual(['POST /Group']); // the patient and the group DPC has are not written again
      expect(await activeMembers(fx)).toEqual({ '1232131239': 2, '2323232225': 1 });

      proxy.writes.length = 0;
      await syncRoster(client, { file: 'r.csv', text: ROSTER });
      expect(proxy.writes).toEqual(['POST /Group']);
      proxy.writes.length = 0;
      expect((await syncRoster(client, { file: 'r.csv', text: ROSTER })).result!.groups).toEqual([]);
      expect(proxy.writes).toEqual([]);
      expect(await activeMembers(fx)).toEqual({ '1232131239': 2, '2323232225': 1, '1234329724': 1 });
      expect(await listPatients(fx.client)).toHaveLength(101);
    }));

  it('dpc roster sync: a 422 on one $add is one error line with the request id, the report indented, exit 2; the rerun finishes', () =>
    withProxiedSandbox(async ({ fx, proxy }) => {
      await syncRoster(fx.client, { file: 'r.csv', text: ROSTER });
      const dir = await mkdtemp(join(tmpdir(), 'dpc-roster-interrupted-'));
      try {
        const seed = fx.sandbox.seed!;
        const profile = { baseUrl: proxy.baseUrl, tokenUrl: `${fx.sandbox.baseUrl}/Token/auth`, scope: 'system/*.*', clientToken: seed.clientToken, privateKey: seed.privateKeyPath, keyId: seed.keyId };
        await writeFile(join(dir, 'config.json'), JSON.stringify({ defaultProfile: 'p', profiles: { p: profile } }), { mode: 0o600 });
        await writeFile(join(dir, 'r.csv'), `${ROSTER}\n1S00E00AA04,1232131239,,,,\n`);
        const env = { DPC_CONFIG: join(dir, 'config.json') };
        const groupId = (await listGroups(fx.client)).find((g) => attributedNpi(g) === '1232131239')!.id!;

        proxy.failNext(/\/\$add$/, { status: 422, message: 'Patient cannot be attributed\n\x1b[2J' });
        const failed = await runCli(['roster', 'sync', join(dir, 'r.csv')], { env });
        expect(failed.code).toBe(2);
        expect(failed.stdout).toBe('');
        expect(failed.stderr).toBe(
          [
            `error: POST /api/v1/Group/${groupId}/$add failed with 422: Patient cannot be attributed \\u001b[2J (request id proxy-failure)`,
            '  applied: nothing',
            `  failed: practitioner 1232131239: group ${groupId}: add 1`,
            `  ${AGAIN}`,
            '',
          ].join('\n'),
        );
        expect(await activeMembers(fx)).toEqual({ '1232131239': 2, '2323232225': 1, '1234329724': 1 });

        const rerun = await runCli(['roster', 'sync', join(dir, 'r.csv')], { env });
        expect(rerun).toMatchObject({ code: 0, stderr: '', stdout: `practitioner 1232131239: group ${groupId}: added 1\n` });
        expect(await activeMembers(fx)).toEqual({ '1232131239': 3, '2323232225': 1, '1234329724': 1 });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }));
});

describe('a renewal that fails part way', () => {
  it('says which groups were renewed; the rerun renews only the others', () =>
    withProxiedSandbox(async ({ fx, proxy, client }) => {
      await syncRoster(fx.client, { file: 'r.csv', text: ROSTER });
      fx.sandbox.clock.advance(80 * DAY);
      proxy.failNext(/\/\$add$/, { status: 422, message: 'Unprocessable' }, 1);
      const err = await failure(() => renewExpiring(client, { withinMs: 14 * DAY }));
      expect(err.code).toBe('ERR_UNPROCESSABLE');
      const renewed = err.applied as Array<{ groupId: string; npi: string }>;
      expect(renewed).toHaveLength(1);
      expect(err.details).toEqual([
        expect.stringMatching(new RegExp(`^applied: practitioner ${renewed[0]!.npi} \\(group ${renewed[0]!.groupId}\\): \\d members? renewed$`)),
        expect.stringMatching(/^failed: practitioner \d{10} \(group [\w-]+\): renew 1 member$/),
        expect.stringMatching(/^not sent: practitioner \d{10} \(group [\w-]+\): renew 1 member$/),
        'run the renewal again: members renewed already are no longer due',
      ]);
      const rest = await renewExpiring(client, { withinMs: 14 * DAY });
      expect(rest.map((g) => g.groupId).sort()).toEqual((await listGroups(fx.client)).map((g) => g.id!).filter((id) => id !== renewed[0]!.groupId).sort());
      expect(await renewExpiring(client, { withinMs: 14 * DAY })).toEqual([]);
    }));
});
