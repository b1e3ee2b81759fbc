/**
 * The error summary of a real run against the sandbox: DPC locates look-back failures by the Blue Button patient id
 * (code `suppressed`), opt-outs and internal errors by MBI (code `exception`); the summary says which is which and never
 * calls the Blue Button id an MBI (behaviour doc §11.5).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPatient } from '../../src/fhir/resources.js';
import { createPatient } from '../../src/fhir/patients.js';
import { describePatients } from '../../src/export/outcomes.js';
import { runExport, runOutcomeError } from '../../src/export/run.js';
import { blueButtonId } from '../../src/sandbox/export/synth.js';
import { exportFixture, makeGroup, tempDir, type ExportFixture } from './sandbox.js';

const INTERNAL_ERROR = '1S00E00AA78';
const OPTED_OUT = '1S00E00AC13';
const LOOK_BACK = '1S00E00AC05';
let fx: ExportFixture;

beforeAll(async () => {
  fx = await exportFixture();
  for (const mbi of [OPTED_OUT, LOOK_BACK]) {
    await createPatient(fx.client, buildPatient({ mbi, given: 'Pat', family: 'Test', birthDate: '1950-01-02', gender: 'female' }));
  }
});
afterAll(async () => fx?.close());

describe('export error summary', () => {
  it('reports the code DPC gave and what kind of id it named, with MBIs only where they are MBIs', async () => {
    const groupId = await makeGroup(fx, '1232125215', [fx.goodMbis[0]!, INTERNAL_ERROR, OPTED_OUT, LOOK_BACK]);
    const result = await runExport(fx.client, { outDir: await tempDir(), target: { kind: 'group', groupId }, pollIntervalMs: 50 });
    const errors = result.groups[0]!.manifest!.errors;
    expect(errors.total).toBe(3);
    const byReason = Object.fromEntries(errors.reasons.map((r) => [r.reason, r]));
    expect(byReason['Data not available for opted out patient']).toMatchObject({ code: 'exception', idKind: 'mbi', patients: [OPTED_OUT] });
    expect(byReason['Unable to retrieve patient data due to internal error']).toMatchObject({ code: 'exception', idKind: 'mbi', patients: [INTERNAL_ERROR] });
    const lookBack = byReason["DPC couldn't find a claim within the past 18 months for this MBI from an NPI in this organization"]!;
    expect(lookBack).toMatchObject({ code: 'suppressed', idKind: 'patient-id', patients: [blueButtonId(0, LOOK_BACK)] });
    // DPC exports nothing for a look-back failure, so this run's Patient files cannot name its MBI
    expect(lookBack.mbis).toBeUndefined();
    expect(describePatients(lookBack)).toBe(`patient id ${blueButtonId(0, LOOK_BACK)} (MBI not in this export)`);

    const partial = runOutcomeError(result)!;
    expect(partial.code).toBe('ERR_PARTIAL');
    expect(partial.details).toContain(`${groupId}: 1 × Data not available for opted out patient (MBI ${OPTED_OUT})`);
    expect(partial.details.join('\n')).not.toContain(`MBI ${blueButtonId(0, LOOK_BACK)}`);
  });
});
