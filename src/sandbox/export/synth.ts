/**
 * Synthetic Blue Button-style claims data for the sandbox export, derived from real DPC and Blue Button (BFD v1)
 * sample files (samples/export-templates/, see SOURCE.md there). Each patient's resources are a pure function of
 * (seed, MBI, exportScale): ids, MBI, birth date, dates, amounts, coverage periods and the number and type of claims
 * (carrier, outpatient, Part D, inpatient) vary, the structure stays that of the real samples.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { formatInstant } from '../clock.js';
import type { ExportResourceType } from './contract.js';
import { rngFor, type Rng } from './random.js';
import { compileTemplate, renderTemplate, textSlot, valueSlot, type CompiledTemplate } from './template.js';
import { MBI_HASH_SYSTEM, MBI_SYSTEM } from '../../shared/identifiers.js';

/** One claim template: `moneyBases[i]` are its amounts in slot order m0, m1 …; `dayOffsets` its dates' slots. */
export interface EobTemplate {
  template: CompiledTemplate;
  moneyBases: readonly number[];
  /** Slot name → days after the claim's service start, kept from the sample (an inpatient stay's discharge…). */
  dayOffsets: Readonly<Record<string, number>>;
}

export interface ExportTemplates {
  patients: readonly CompiledTemplate[];
  /** Coverage parts A–D of one template beneficiary per entry. */
  coverages: readonly (readonly CompiledTemplate[])[];
  /** Claim types with their share of claims; a type's variants are equally likely (carrier: 1..n line items). */
  claimTypes: readonly { name: string; weight: number; variants: readonly EobTemplate[] }[];
}

/** Share of each claim type: mostly physician (carrier) claims and prescriptions, a few hospital stays. */
const CLAIM_WEIGHTS = { carrier: 50, pde: 25, outpatient: 20, inpatient: 5 } as const;
const BFD_CLAIM_TEMPLATES = ['inpatient', 'outpatient', 'pde'] as const;

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
const CLAIM_GROUP_SYSTEM = 'https://bluebutton.cms.gov/resources/identifier/claim-group';
const MEDICARE_AGE_YEARS = 65;

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
  const [patients, coverages, eob, ...claims] = await Promise.all([
    read('Patient.ndjson'),
    read('Coverage.ndjson'),
    read('ExplanationOfBenefit.carrier.json'),
    ...BFD_CLAIM_TEMPLATES.map((type) => read(`ExplanationOfBenefit.${type}.json`)),
  ]);
  const others = Object.fromEntries(BFD_CLAIM_TEMPLATES.map((type, i) => [type, JSON.parse(claims[i]!) as Json]));
  return compileTemplates(ndjsonLines(patients), ndjsonLines(coverages), JSON.parse(eob) as Json, others);
}

function ndjsonLines(text: string): Json[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Json);
}

/** `others`: one BFD v1 claim resource per claim type (inpatient, outpatient, pde). */
export function compileTemplates(patients: readonly Json[], coverages: readonly Json[], eobBundle: Json, others: Readonly<Record<string, Json>> = {}): ExportTemplates {
  const coverageGroups: CompiledTemplate[][] = [];
  for (let i = 0; i + 4 <= coverages.length; i += 4) {
    coverageGroups.push(coverages.slice(i, i + 4).map(compileCoverage));
  }
  const entry = (eobBundle.entry as Array<{ resource: Json }> | undefined)?.[0];
  if (!entry) throw new Error('export template ExplanationOfBenefit.carrier.json has no entry');
  const itemCount = (entry.resource.item as unknown[]).length;
  const claimTypes: ExportTemplates['claimTypes'][number][] = [{ name: 'carrier', weight: CLAIM_WEIGHTS.carrier, variants: Array.from({ length: itemCount }, (_, i) => compileEob(entry.resource, i + 1)) }];
  for (const [name, resource] of Object.entries(others)) {
    claimTypes.push({ name, weight: CLAIM_WEIGHTS[name as keyof typeof CLAIM_WEIGHTS] ?? 1, variants: [compileEob(resource, (resource.item as unknown[]).length)] });
  }
  if (patients.length === 0 || coverageGroups.length === 0) throw new Error('export templates hold no Patient or Coverage');
  return { patients: patients.map(compilePatient), coverages: coverageGroups, claimTypes };
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

/** Coverage with its period (and, for Part C, its status) as slots: Medicare Advantage enrolments also end. */
function compileCoverage(template: Json): CompiledTemplate {
  const coverage = structuredClone(template);
  const reference = String((coverage.beneficiary as Json).reference);
  const beneId = reference.slice(reference.indexOf('/') + 1);
  coverage.meta = { lastUpdated: textSlot('updated') };
  const partC = (coverage.grouping as Json | undefined)?.subPlan === 'Part C';
  coverage.period = valueSlot(partC ? 'partCPeriod' : 'period');
  if (partC) coverage.status = textSlot('partCStatus');
  return compileTemplate(JSON.stringify(coverage).replaceAll(beneId, textSlot('bene')));
}

/**
 * A claim cut to `items` line items, its ids, patient, amounts and dates turned into slots. Dates keep their distance
 * from the claim's service start as in the sample (a date more than a year away becomes the service date).
 */
function compileEob(template: Json, items: number): EobTemplate {
  const eob = structuredClone(template);
  const beneId = String((eob.patient as Json).reference).replace('Patient/', '');
  const identifiers = eob.identifier as Json[];
  const claimType = String(eob.id).slice(0, String(eob.id).indexOf('-'));
  eob.id = `${claimType}-${textSlot('claim')}`;
  identifiers[0]!.value = textSlot('claim');
  for (const id of identifiers) if (id.system === CLAIM_GROUP_SYSTEM) id.value = textSlot('group');
  eob.patient = { reference: `Patient/${textSlot('bene')}` };
  const coverage = (eob.insurance as Json | undefined)?.coverage as Json | undefined;
  if (typeof coverage?.reference === 'string') coverage.reference = coverage.reference.replace(beneId, textSlot('bene'));
  const serviceStart = Date.parse(String((eob.billablePeriod as Json).start));
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
  if (Array.isArray(eob.contained)) {
    // Drop contained resources only the removed items referenced (FHIR requires contained to be referenced).
    const withoutContained = JSON.stringify({ ...eob, contained: [] });
    eob.contained = eob.contained.filter((c: Json) => withoutContained.includes(`"#${String(c.id)}"`));
  }
  const dayOffsets: Record<string, number> = {};
  const text = JSON.stringify(eob).replace(/\d{4}-\d{2}-\d{2}/g, (date) => {
    const days = Math.round((Date.parse(date) - serviceStart) / DAY);
    const offset = Math.abs(days) <= 365 ? days : 0;
    const slot = `d${offset < 0 ? 'm' : ''}${Math.abs(offset)}`;
    dayOffsets[slot] = offset;
    return textSlot(slot);
  });
  return { template: compileTemplate(text), moneyBases, dayOffsets };
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
  const coverageValues = coveragePeriods(rng, birth);

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
      yield { type: 'Coverage', lastUpdated: updated, line: renderTemplate(template, { ...coverageValues, bene, updated: formatInstant(updated) }) };
    }
  }

  const claims = Math.max(0, Math.round(rng.int(EOBS_PER_PATIENT.min, EOBS_PER_PATIENT.max) * spec.exportScale));
  const wantEobs = spec.types.has('ExplanationOfBenefit');
  for (let n = 0; n < claims; n++) {
    const { variants } = pickWeighted(rng, templates.claimTypes);
    const variant = variants[rng.int(0, variants.length - 1)] as EobTemplate;
    const service = randomTime(rng, SERVICE_WINDOW);
    const lastDate = service + Math.max(0, ...Object.values(variant.dayOffsets)) * DAY;
    const updated = lastDate + rng.int(1, 14) * DAY + rng.int(0, 60) * DAY + rng.int(0, DAY - 1);
    const values: Record<string, string> = {
      bene,
      claim: syntheticId(rng),
      group: `-${rng.int(100_000_000, 1_999_999_999)}`,
      updated: formatInstant(updated),
    };
    for (const [slot, days] of Object.entries(variant.dayOffsets)) values[slot] = isoDate(service + days * DAY);
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

/**
 * Coverage periods: Parts A, B and D from the month of the 65th birthday; Part C (Medicare Advantage) from a later
 * January, and ended (status cancelled) for about a third of beneficiaries.
 */
function coveragePeriods(rng: Rng, birth: string): Record<string, string> {
  const entitled = `${Number(birth.slice(0, 4)) + MEDICARE_AGE_YEARS}-${birth.slice(5, 7)}-01`;
  const partCStart = `${Number(entitled.slice(0, 4)) + rng.int(1, 10)}-01-01`;
  const ended = rng.next() < 1 / 3;
  const partCEnd = `${Number(partCStart.slice(0, 4)) + rng.int(0, 4)}-12-31`;
  return {
    period: JSON.stringify({ start: entitled }),
    partCPeriod: JSON.stringify(ended ? { start: partCStart, end: partCEnd } : { start: partCStart }),
    partCStatus: ended ? 'cancelled' : 'active',
  };
}

function pickWeighted<T extends { weight: number }>(rng: Rng, choices: readonly T[]): T {
  let r = rng.int(0, choices.reduce((sum, c) => sum + c.weight, 0) - 1);
  for (const choice of choices) {
    if (r < choice.weight) return choice;
    r -= choice.weight;
  }
  return choices[choices.length - 1] as T;
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
