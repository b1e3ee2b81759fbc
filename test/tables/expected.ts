/**
 * The flat tables' rows computed straight from NDJSON with JSON.parse, independently of the SQL in src/tables/flat.ts,
 * in the form queryExport returns (DECIMAL as a 2-decimal string, DATE as YYYY-MM-DD, INTEGER and DOUBLE as numbers).
 */
type Json = Record<string, any>;

const BB = 'https://bluebutton.cms.gov/resources/variables/';
const NPI = 'http://hl7.org/fhir/sid/us-npi';
const NDC = 'http://hl7.org/fhir/sid/ndc';

const money = (v: unknown): string | null => (typeof v === 'number' ? v.toFixed(2) : null);
const date = (v: unknown): string | null => (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null);
const codeIn = (codings: Json[] | undefined, system: string): string | null => codings?.find((c) => c.system === system)?.code ?? null;
const extension = (list: Json[] | undefined, url: string): Json | undefined => list?.find((e) => e.url === url);
const idOf = (reference: string | undefined): string | null => reference?.split('/').at(-1) ?? null;

function amount(adjudications: Json[] | undefined, names: string[]): number | undefined {
  const hit = adjudications?.find((a) => a.category?.coding?.some((c: Json) => names.some((n) => c.code === BB + n)));
  return hit?.amount?.value;
}
const CHARGE = ['line_sbmtd_chrg_amt', 'rev_cntr_tot_chrg_amt', 'tot_rx_cst_amt'];
const PAID = ['line_nch_pmt_amt', 'rev_cntr_pmt_amt_amt', 'cvrd_d_plan_pd_amt'];

/** Sum in cents, so 2-decimal amounts add up exactly. */
function sumOf(values: Array<number | undefined>): number | undefined {
  const present = values.filter((v): v is number => typeof v === 'number');
  return present.length === 0 ? undefined : present.reduce((s, v) => s + Math.round(v * 100), 0) / 100;
}

export function claimRow(eob: Json): unknown[] {
  const items: Json[] = eob.item ?? [];
  const org = eob.organization?.identifier;
  return [
    eob.id,
    idOf(eob.patient?.reference),
    codeIn(eob.type?.coding, 'https://bluebutton.cms.gov/resources/codesystem/eob-type'),
    eob.status ?? null,
    (org?.system === NPI ? org.value : undefined) ?? extension(eob.careTeam?.[0]?.extension, NPI)?.valueCoding?.code ?? null,
    eob.careTeam?.find((t: Json) => t.role?.coding?.some((c: Json) => c.code === 'primary') && t.provider?.identifier?.system === NPI)?.provider.identifier.value ?? null,
    date(eob.billablePeriod?.start),
    date(eob.billablePeriod?.end),
    money(eob.totalCost?.value ?? extension(eob.extension, `${BB}nch_carr_clm_sbmtd_chrg_amt`)?.valueMoney?.value ?? sumOf(items.map((i) => amount(i.adjudication, CHARGE)))),
    money(extension(eob.extension, `${BB}nch_carr_clm_alowd_amt`)?.valueMoney?.value),
    money(eob.payment?.amount?.value ?? sumOf(items.map((i) => amount(i.adjudication, PAID)))),
    (eob.diagnosis ?? []).map((d: Json) => codeIn(d.packageCode?.coding, `${BB}clm_drg_cd`)).find((c: string | null) => c !== null) ?? null,
  ];
}

export function lineRows(eob: Json): unknown[][] {
  return (eob.item ?? []).map((item: Json) => [
    eob.id,
    item.sequence,
    date(item.servicedDate) ?? date(item.servicedPeriod?.start),
    codeIn(item.service?.coding, 'https://bluebutton.cms.gov/resources/codesystem/hcpcs'),
    codeIn(item.service?.coding, NDC) ?? extension(item.extension, NDC)?.valueCoding?.code ?? extension(item.service?.extension, `${BB}rev_cntr_ide_ndc_upc_num`)?.valueCoding?.code ?? null,
    codeIn(item.revenue?.coding, `${BB}rev_cntr`),
    item.quantity?.value ?? null,
    money(amount(item.adjudication, CHARGE)),
    money(amount(item.adjudication, ['line_alowd_chrg_amt'])),
    money(amount(item.adjudication, PAID)),
  ]);
}

export function diagnosisRows(eob: Json): unknown[][] {
  return (eob.diagnosis ?? [])
    .filter((d: Json) => d.diagnosisCodeableConcept)
    .map((d: Json) => [eob.id, d.sequence, d.diagnosisCodeableConcept.coding[0].code, d.diagnosisCodeableConcept.coding[0].system, d.type?.[0]?.coding?.[0]?.code ?? null]);
}

export function procedureRows(eob: Json): unknown[][] {
  return (eob.procedure ?? []).map((p: Json) => [eob.id, p.sequence, p.procedureCodeableConcept.coding[0].code, p.procedureCodeableConcept.coding[0].system, date(p.date)]);
}

export function patientRow(patient: Json, group: string, npi: string | null): unknown[] {
  const mbis = (patient.identifier ?? []).filter((i: Json) => i.system === 'http://hl7.org/fhir/sid/us-mbi');
  const current = mbis.find((i: Json) => i.extension?.some((e: Json) => e.valueCoding?.code === 'current'));
  return [
    patient.id,
    (current ?? mbis[0])?.value ?? null,
    patient.name?.[0]?.family ?? null,
    patient.name?.[0]?.given?.join(' ') ?? null,
    date(patient.birthDate),
    patient.gender ?? null,
    group,
    npi,
  ];
}

export function coverageRow(coverage: Json): unknown[] {
  return [
    coverage.id,
    idOf(coverage.beneficiary?.reference),
    coverage.grouping?.subPlan ?? null,
    coverage.grouping?.subGroup ?? null,
    coverage.status ?? null,
    date(coverage.period?.start),
    date(coverage.period?.end),
  ];
}

/** meta.lastUpdated as epoch milliseconds (the tests read `epoch_ms(last_updated)`, a BIGINT, as a string). */
export function lastUpdatedMs(resource: Json): string {
  return String(Date.parse(resource.meta.lastUpdated));
}
