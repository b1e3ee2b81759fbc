/** Malformed export files: local manifests (`dpc export verify`), server completion bodies, and export state files. */
import type { FuzzCase, Random } from './common.js';

const HEX64 = 'a'.repeat(64);

/** A local manifest.json (what `dpc export verify` reads) with one malformed part. */
export function manifestCase(r: Random, n: number): FuzzCase {
  const files = Array.from({ length: r.int(1, 4) }, (_, i) => ({
    url: `http://127.0.0.1/api/v1/Data/f${i}.ndjson`,
    type: 'Patient',
    kind: 'output',
    path: `Patient-00${i + 1}.ndjson`,
    bytes: 10,
    sha256: HEX64,
    count: 1,
  }));
  const manifest: Record<string, any> = { label: 'g', jobUrl: 'http://127.0.0.1/api/v1/Jobs/1', transactionTime: '2026-01-01T00:00:00.000+00:00', files, quarantined: [], errors: { total: 0, reasons: [] } };
  const k = r.int(0, files.length - 1);
  const kind = r.pick(['invalid-json', 'not-object', 'files-type', 'entry-type', 'path-type', 'path-escape']);
  let text: string | undefined;
  let where = 'manifest.json';
  let problem: RegExp = /is not an export manifest/;
  switch (kind) {
    case 'invalid-json': {
      const full = JSON.stringify(manifest);
      text = full.slice(0, r.int(0, full.length - 2));
      break;
    }
    case 'not-object':
      text = JSON.stringify(r.pick([null, [], 'x', 7]));
      break;
    case 'files-type':
      manifest.files = r.pick([undefined, {}, 'Patient-001.ndjson', 3]);
      break;
    case 'entry-type':
      files[k] = r.pick([null, 'Patient-001.ndjson', 5, []]) as never;
      where = `manifest.json: files[${k}]`;
      problem = /.+/;
      break;
    case 'path-type':
      (files[k] as Record<string, unknown>).path = r.pick([5, null, ['a'], { p: 1 }]);
      where = `manifest.json: files[${k}]`;
      problem = /path/;
      break;
    default: // path-escape: the engine only ever writes plain names inside the group folder
      files[k]!.path = r.pick(['../Patient-001.ndjson', '../../etc/hostname', '/etc/hostname', 'sub/../../x.ndjson']);
      where = `manifest.json: files[${k}]`;
      problem = /path/;
      break;
  }
  return { id: `manifest#${n} ${kind}`, kind, file: 'manifest.json', content: text ?? JSON.stringify(manifest, null, 2), where, problem, code: 'ERR_INPUT', exitCode: 2 };
}

/** A job's 200 completion body (the server's manifest) with one malformed part: ERR_HTTP, exit 1 (documented). */
export function completionCase(r: Random, n: number): FuzzCase {
  const entry = (i: number) => ({
    type: r.pick(['Patient', 'Coverage', 'ExplanationOfBenefit']),
    url: `http://127.0.0.1/api/v1/Data/f${i}.ndjson`,
    count: 3,
    extension: [
      { url: 'https://dpc.cms.gov/checksum', valueString: `sha256:${HEX64}` },
      { url: 'https://dpc.cms.gov/file_length', valueDecimal: 100 },
    ],
  });
  const body: Record<string, any> = { transactionTime: '2026-01-01T00:00:00.000+00:00', request: 'x', requiresAccessToken: true, output: [entry(0), entry(1), entry(2)], error: [] };
  const k = r.int(0, 2);
  const kind = r.pick(['not-object', 'transaction-time', 'arrays', 'entry-type', 'url', 'type', 'checksum', 'extension-entry']);
  let where = 'job';
  let problem: RegExp;
  let json: unknown = body;
  switch (kind) {
    case 'not-object':
      json = r.pick([null, 'done', 3]);
      problem = /the body is not a JSON object/;
      break;
    case 'transaction-time':
      body.transactionTime = r.pick([undefined, 5, null]);
      problem = /"transactionTime" is missing/;
      break;
    case 'arrays':
      body[r.pick(['output', 'error', 'deleted'])] = r.pick([{}, 'x', 1]);
      problem = /"output", "error" and "deleted" must be arrays/;
      break;
    case 'entry-type':
      body.output[k] = r.pick([null, 'x', 4]);
      where = `job output[${k}]`;
      problem = /not an object/;
      break;
    case 'url':
      body.output[k].url = r.pick([undefined, '', 5]);
      where = `job output[${k}]`;
      problem = /"url" is missing/;
      break;
    case 'type':
      body.output[k].type = r.pick([undefined, 'Explanation Of Benefit', '../x', 7]);
      where = `job output[${k}]`;
      problem = /"type" is missing or not a resource type/;
      break;
    case 'checksum':
      body.output[k].extension[0].valueString = r.pick(['md5:abc', `sha256:${'a'.repeat(63)}`, `sha256:${'g'.repeat(64)}`, HEX64, 'sha256:']);
      where = `job output[${k}]`;
      problem = /checksum ".*" is not sha256:<64 hex>/;
      break;
    default: // extension-entry
      body.output[k].extension = [r.pick([null, 'x', 5]), ...body.output[k].extension];
      where = `job output[${k}]`;
      problem = /extension/;
      break;
  }
  return { id: `completion#${n} ${kind}`, kind, file: 'job', content: JSON.stringify(json), where, problem, code: 'ERR_HTTP', exitCode: 1 };
}

/** A `.dpc-export-state.json` with one malformed part (read by `dpc export status|download DIR`). */
export function stateCase(r: Random, n: number): FuzzCase {
  const kind = r.pick(['invalid-json', 'version', 'groups-type']);
  const state: Record<string, any> = { version: 1, groups: { g1: { files: {}, lastTransactionTime: '2026-01-01T00:00:00Z' } } };
  let text: string | undefined;
  switch (kind) {
    case 'invalid-json':
      text = JSON.stringify(state).slice(0, r.int(0, 20));
      break;
    case 'version':
      state.version = r.pick([2, '1', 0, undefined]);
      break;
    default: // groups-type
      state.groups = r.pick([undefined, null, 'g1', 5]);
      break;
  }
  return {
    id: `state#${n} ${kind}`,
    kind,
    file: '.dpc-export-state.json',
    content: text ?? JSON.stringify(state),
    where: '.dpc-export-state.json',
    problem: /is not an export state file this version understands/,
    code: 'ERR_INPUT',
    exitCode: 2,
  };
}
