// Roster sync: a generated 1,350-member roster (one practitioner, patients registered from the CSV's columns) into an
// empty organization of an in-process sandbox. Reports write requests (bundled $submit + one group write, not one
// per patient) and wall time, then the same for the re-run, which must write nothing.
import { createClient } from '../dist/client.js';
import { generateKeyPair, privateKeyPem, publicKeyPem } from '../dist/auth/keys.js';
import { buildPractitioner } from '../dist/fhir/resources.js';
import { syncRoster } from '../dist/roster/sync.js';
import { startSandbox } from '../dist/sandbox/index.js';

const MEMBERS = 1350;
const NPI = '1234329724';

/** A valid, distinct MBI per index (digit, letter, alnum, digit, letter, alnum, digit, 2 letters, 2 digits). */
function mbi(i) {
  const s = String(i).padStart(5, '0');
  return `1S${s[0]}${s[1]}A${s[2]}${s[3]}AA${s[4]}0`;
}

function rosterCsv(members) {
  const rows = ['mbi,npi,given,family,birth_date,gender'];
  for (let i = 0; i < members; i++) {
    const born = `19${String(30 + (i % 60)).padStart(2, '0')}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`;
    rows.push(`${mbi(i)},${NPI},Given${i},Family${i},${born},${i % 2 ? 'female' : 'male'}`);
  }
  return rows.join('\n');
}

export async function run({ log = () => {} } = {}) {
  const sandbox = await startSandbox();
  const key = await generateKeyPair();
  const org = sandbox.admin.createOrganization();
  const { keyId } = sandbox.admin.registerKey(org.orgId, publicKeyPem(key.publicKey));
  const counts = { writes: 0, reads: 0 };
  const client = createClient({
    baseUrl: sandbox.baseUrl,
    clientToken: org.clientToken,
    privateKey: privateKeyPem(key.privateKey),
    keyId,
    onEvent: (e) => {
      if (e.type !== 'request' || e.url.endsWith('/Token/auth')) return;
      if (e.method === 'GET') counts.reads++;
      else counts.writes++;
    },
  });
  const input = {
    file: 'generated.csv',
    text: rosterCsv(MEMBERS),
    practitioners: { location: 'generated', json: buildPractitioner({ npi: NPI, given: 'Bench', family: 'Mark' }) },
  };
  try {
    await client.tokens.getAccessToken(); // token exchange outside the measurement
    const measure = async () => {
      counts.writes = 0;
      counts.reads = 0;
      const started = performance.now();
      const { result } = await syncRoster(client, input);
      return { ms: performance.now() - started, result, ...counts };
    };
    const first = await measure();
    log(`first sync: ${first.result.registeredPatients} patients registered, ${first.writes} writes, ${first.reads} reads`);
    const second = await measure();
    log(`re-sync: ${second.writes} writes, ${second.reads} reads`);
    return [
      { metric: `sync ${MEMBERS} members into an empty org: write requests`, value: first.writes, unit: 'requests' },
      { metric: `sync ${MEMBERS} members into an empty org: read requests`, value: first.reads, unit: 'requests' },
      { metric: `sync ${MEMBERS} members into an empty org: wall time`, value: first.ms.toFixed(0), unit: 'ms' },
      { metric: 're-sync (no changes): write requests', value: second.writes, unit: 'requests' },
      { metric: 're-sync (no changes): wall time', value: second.ms.toFixed(0), unit: 'ms' },
    ];
  } finally {
    await client.close();
    await sandbox.close();
  }
}
