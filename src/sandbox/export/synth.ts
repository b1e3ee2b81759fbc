/**
 * Synthetic Blue Button-style claims data for the sandbox export, derived from real DPC sample files
 * (samples/export-templates/, see SOURCE.md there). Each patient's resources are a pure function of
 * (seed, MBI, exportScale): ids, MBI, birth date, dates, amounts and the number of claims vary, the
 * structure stays that of the real samples.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { formatInstant } from '../clock.js';
import type { ExportResourceType } from './contract.js';
import { rngFor, type Rng } from './random.js';
import { compileTemplate, renderTemplate, textSlot, valueSlot, type CompiledTemplate } from './template.js';
import { MBI_HASH_SYSTEM, MBI_SYSTEM } from '../../shared/identifiers.js';

export interface ExportTemplates {
  patients: readonly CompiledTemplate[];
  /** Coverage parts A–D of one template beneficiary per entry. */
  coverages: readonly (readonly CompiledTemplate[])[];
  /** Carrier claim with 1..n line items, index = item count - 1; `moneyBases[i]` are its amounts in slot order m0, m1 … */
  eobs: readonly { template: CompiledTemplate; moneyBases: readonly number[] }[];
}

export interface SyntheticResource {
  type: ExportResourceType;
  /** meta.lastUpdated, epoch ms (what `_since` compares). */
  lastUpdated: number;
  line: string;
}

export interface PatientSpec {
  seed: number;
  mbi: string;
  exportScale: number;
  types: ReadonlySet<ExportResourceType>;
}

/** Claims per patient before exportScale: uniform in this range. */
export const EOBS_PER_PATIENT = { min: 2, max: 8 } as const;

const DAY = 86_400_000;
const UPDATED_WINDOW = { from: Date.UTC(2021, 0, 1), to: Date.UTC(2025, 11, 31) };
const SERVICE_WINDOW = { from: Date.UTC(2023, 0, 1), to: Date.UTC(2025, 8, 30) };
const BIRTH_WINDOW = { from: Date.UTC(1930, 0, 1), to: Date.UTC(1960, 11, 31) };
const MONEY_SYSTEM = 'urn:iso:std:iso:4217';

type Json = Record<string, unknown>;

const TEMPLATE_DIR = fileURLToPath(new URL('../../../samples/export-templates/', import.meta.url));

let cached: Promise<ExportTemplates> | undefined;

/** Reads and compiles the template files once per process. */
export function loadTemplates(): Promise<ExportTemplates> {
  cached ??= readTemplates(TEMPLATE_DIR).catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

async function readTemplates(dir: string): Promise<ExportTemplates> {
  const read = (name: string): Promise<string> =>
    readFile(dir + name, 'utf8').catch((error: unknown) => {
      throw new Error(`cannot read export template ${dir + name}: ${(error as Error).message}`);
    });
  const [patients, coverages, eob] = await Promise.all([
    read('Patient.ndjson'),
    read('Coverage.ndjson'),
    read('ExplanationOfBenefit.carrier.json'),
  ]);
  return compileTemplates(ndjsonLines(patients), ndjsonLines(coverages), JSON.parse(eob) as Json);
}

function ndjsonLines(text: string): Json[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Json);
}

export function compileTemplates(patients: readonly Json[], coverages: readonly Json[], eobBundle: Json): ExportTemplates {
  const coverageGroups: CompiledTemplate[][] = [];
  for (let i = 0; i + 4 <= coverages.length; i += 4) {
    coverageGroups.push(coverages.slice(i, i + 4).map(compileCoverage));
  }
  const entry = (eobBundle.entry as Array<{ resource: Json }> | undefined)?.[0];
  if (!entry) throw new Error('export template ExplanationOfBenefit.carrier.json has no entry');
  const itemCount = (entry.resource.item as unknown[]).length;
  const eobs = Array.from({ length: itemCount }, (_, i) => compileEob(entry.resource, i + 1));
  if (patients.length === 0 || coverageGroups.length === 0) throw new Error('export templates hold no Patient or Coverage');
  return { patients: patients.map(compilePatient), coverages: coverageGroups, eobs };
}

function compilePatient(template: Json): CompiledTemplate {
  const patient = structuredClone(template);
  const beneId = String(patient.id);
  patient.meta = { lastUpdated: textSlot('updated') };
  patient.birthDate = textSlot('birth');
  for (const identifier of patient.identifier as Json[]) {
    if (identifier.system === MBI_SYSTEM) identifier.value = textSlot('mbi');
    if (identifier.system === MBI_HASH_SYSTEM) identifier.value = textSlot('mbiHash');
  }
  return compileTemplate(JSON.stringify(patient).replaceAll(beneId, textSlot('bene')));
}

function compileCoverage(template: Json): CompiledTemplate {
  const coverage = structuredClone(template);
  const reference = String((coverage.beneficiary as Json).reference);
  const beneId = reference.slice(reference.indexOf('/') + 1);
  coverage.meta = { lastUpdated: textSlot('updated') };
  return compileTemplate(JSON.stringify(coverage).replaceAll(beneId, textSlot('bene')));
}

/** The carrier claim cut to `items` line items, its amounts, ids and dates turned into slots. */
function compileEob(template: Json, items: number): { template: CompiledTemplate; moneyBases: number[] } {
  const eob = structuredClone(template);
  const beneId = String((eob.patient as Json).reference).replace('Patient/', '');
  const claimId = String((eob.identifier as Json[])[0]?.value);
  const claimGroup = String((eob.identifier as Json[])[1]?.value);
  const serviceDate = String((eob.billablePeriod as Json).start);
  eob.item = (eob.item as Json[]).slice(0, items);
  eob.meta = { lastUpdated: textSlot('updated') };
  const moneyBases: number[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node !== null && typeof node === 'object') {
      const obj = node as Json;
      if (obj.system === MONEY_SYSTEM && typeof obj.value === 'number') {
        moneyBases.push(obj.value);
        obj.value = valueSlot(`m${moneyBases.length - 1}`);
      } else Object.values(obj).forEach(visit);
    }
  };
  visit(eob);
  // Drop contained resources only the removed items referenced (FHIR requires contained to be referenced).
  const withoutContained = JSON.stringify({ ...eob, contained: [] });
  eob.contained = (eob.contained as Json[]).filter((c) => withoutContained.includes(`"#${String(c.id)}"`));
  let text = JSON.stringify(eob);
  for (const [literal, slot] of [
    [claimId, 'claim'],
    [claimGroup, 'group'],
    [beneId, 'bene'],
    [serviceDate, 'service'],
  ] as const) {
    text = text.replaceAll(literal, textSlot(slot));
  }
  // Any remaining calendar date (e.g. the weekly processing date) follows the service date.
  text = text.replace(/\d{4}-\d{2}-\d{2}/g, textSlot('processed'));
  return { template: compileTemplate(text), moneyBases };
}

/**
 * The resources of one patient, in output order: Patient, Coverage A–D, then the claims. Every random
 * draw happens whatever `types` holds, so a Patient-only export equals the Patient file of a full one;
 * Patient and Coverage draws come first, so they do not depend on exportScale either.
 */
export function* patientResources(templates: ExportTemplates, spec: PatientSpec): Generator<SyntheticResource> {
  const rng = patientRng(spec.seed, spec.mbi);
  const bene = syntheticId(rng);
  const templateIndex = rng.int(0, templates.patients.length - 1);
  const birth = isoDate(randomTime(rng, BIRTH_WINDOW));
  const patientUpdated = randomTime(rng, UPDATED_WINDOW);
  const coverageTemplates = templates.coverages[templateIndex % templates.coverages.length] ?? [];
  const coverageUpdated = coverageTemplates.map(() => randomTime(rng, UPDATED_WINDOW));

  if (spec.types.has('Patient')) {
    const values = {
      bene,
      mbi: JSON.stringify(spec.mbi).slice(1, -1),
      mbiHash: createHash('sha256').update(spec.mbi).digest('hex'),
      birth,
      updated: formatInstant(patientUpdated),
    };
    yield { type: 'Patient', lastUpdated: patientUpdated, line: renderTemplate(templates.patients[templateIndex] as CompiledTemplate, values) };
  }
  if (spec.types.has('Coverage')) {
    for (const [i, template] of coverageTemplates.entries()) {
      const updated = coverageUpdated[i] as number;
      yield { type: 'Coverage', lastUpdated: updated, line: renderTemplate(template, { bene, updated: formatInstant(updated) }) };
    }
  }

  const claims = Math.max(0, Math.round(rng.int(EOBS_PER_PATIENT.min, EOBS_PER_PATIENT.max) * spec.exportScale));
  const wantEobs = spec.types.has('ExplanationOfBenefit');
  for (let n = 0; n < claims; n++) {
    const variant = templates.eobs[rng.int(0, templates.eobs.length - 1)] as ExportTemplates['eobs'][number];
    const service = randomTime(rng, SERVICE_WINDOW);
    const processed = service + rng.int(1, 14) * DAY;
    const updated = processed + rng.int(0, 60) * DAY + rng.int(0, DAY - 1);
    const values: Record<string, string> = {
      bene,
      claim: syntheticId(rng),
      group: `-${rng.int(100_000_000, 1_999_999_999)}`,
      service: isoDate(service),
      processed: isoDate(processed),
      updated: formatInstant(updated),
    };
    for (const [i, base] of variant.moneyBases.entries()) {
      // Amounts vary ±50 % around the sample's; zero stays zero (a deductible not met, say).
      values[`m${i}`] = base === 0 ? '0' : (base * (0.5 + rng.next())).toFixed(2);
    }
    if (wantEobs) yield { type: 'ExplanationOfBenefit', lastUpdated: updated, line: renderTemplate(variant.template, values) };
  }
}

function patientRng(seed: number, mbi: string): Rng {
  return rngFor('patient', seed, mbi);
}

/** The patient's Blue Button id (`Patient.id` in the export), the first draw of its generator. */
export function blueButtonId(seed: number, mbi: string): string {
  return syntheticId(patientRng(seed, mbi));
}

/** BFD-style negative numeric id: "-1" and 13 digits. */
function syntheticId(rng: Rng): string {
  return `-1${String(rng.int(0, 999_999)).padStart(6, '0')}${String(rng.int(0, 9_999_999)).padStart(7, '0')}`;
}

/** A whole day in the window plus a random time of day. */
function randomTime(rng: Rng, window: { from: number; to: number }): number {
  return window.from + rng.int(0, Math.floor((window.to - window.from) / DAY)) * DAY + rng.int(0, DAY - 1);
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
