/**
 * The flat tables: one definition per table, each column with its type, the FHIR path it comes from (documented in
 * the README's "Claims as tables") and the DuckDB expression that reads it from the raw table (`r`, the resource; `x`,
 * the unnested element for line, diagnosis and procedure tables). Paths follow Blue Button (BFD v1) as DPC serves it.
 * Pure data plus SQL generation.
 */
// the column expressions name these systems often: short names keep the definitions readable
import { MBI_SYSTEM as MBI, NPI_SYSTEM as NPI } from '../shared/identifiers.js';

export interface FlatColumn {
  name: string;
  /** DuckDB / Parquet type. */
  type: string;
  /** Where the value comes from, FHIRPath-style. */
  path: string;
  sql: string;
}

export interface FlatTable {
  name: string;
  /** The resource type whose raw table it reads. */
  from: 'Patient' | 'Coverage' | 'ExplanationOfBenefit';
  /** One row per element of this list (ExplanationOfBenefit.item, …), else one row per resource. */
  unnest?: 'item' | 'diagnosis' | 'procedure';
  /** Rows kept (SQL over `r` and `x`). */
  where?: string;
  description: string;
  columns: FlatColumn[];
}

const BB = 'https://bluebutton.cms.gov/resources/variables/';
const NDC = 'http://hl7.org/fhir/sid/ndc';
const HCPCS = 'https://bluebutton.cms.gov/resources/codesystem/hcpcs';
const EOB_TYPE = 'https://bluebutton.cms.gov/resources/codesystem/eob-type';
const DRG = `${BB}clm_drg_cd`;

/**
 * Helpers the column expressions use, created on the connection that builds the tables. `lambda` is DuckDB's list
 * lambda; lists are 1-based.
 */
export const MACROS = [
  // the code of the first coding in `system`
  'CREATE OR REPLACE TEMP MACRO coding_in(codings, sys) AS list_filter(codings, lambda c: c.system = sys)[1].code',
  // the first extension (JSON) with this url
  "CREATE OR REPLACE TEMP MACRO ext(exts, u) AS list_filter(exts, lambda e: e->>'url' = u)[1]",
  // the amount of the first adjudication whose category is one of `codes` (BFD variable URLs; Blue Button gives each
  // category one coding, and a nested lambda over every coding made this the slowest part of the build)
  'CREATE OR REPLACE TEMP MACRO adjudicated(adjs, codes) AS list_filter(adjs, lambda a: list_contains(codes, a.category.coding[1].code))[1].amount."value"',
  // a FHIR date or dateTime as a DATE (its date part); NULL for a partial date such as `2021`
  'CREATE OR REPLACE TEMP MACRO fhir_date(s) AS TRY_CAST(left(s, 10) AS DATE)',
  // the id in a reference such as `Patient/-10000010288391`
  "CREATE OR REPLACE TEMP MACRO ref_id(ref) AS regexp_extract(ref, '([^/]+)$', 1)",
  // the NPI of the first care team member in `role`
  `CREATE OR REPLACE TEMP MACRO care_team_npi(team, role) AS list_filter(team, lambda t: list_has_any(list_transform(t.role.coding, lambda c: c.code), [role]) AND t.provider.identifier.system = '${NPI}')[1].provider.identifier."value"`,
];

const variables = (...names: string[]) => `[${names.map((n) => `'${BB}${n}'`).join(', ')}]`;

/** Line amounts by claim type: carrier/DME `line_*`, institutional `rev_cntr_*`, Part D PDE variables. */
const LINE_CHARGE = variables('line_sbmtd_chrg_amt', 'rev_cntr_tot_chrg_amt', 'tot_rx_cst_amt');
const LINE_ALLOWED = variables('line_alowd_chrg_amt');
const LINE_PAID = variables('line_nch_pmt_amt', 'rev_cntr_pmt_amt_amt', 'cvrd_d_plan_pd_amt');

const lastUpdated: FlatColumn = { name: 'last_updated', type: 'TIMESTAMPTZ', path: 'meta.lastUpdated', sql: 'r.last_updated' };
const claimId: FlatColumn = { name: 'claim_id', type: 'VARCHAR', path: 'ExplanationOfBenefit.id', sql: 'r.id' };

export const FLAT_TABLES: readonly FlatTable[] = [
  {
    name: 'patients',
    from: 'Patient',
    description: 'one row per beneficiary',
    columns: [
      { name: 'patient_id', type: 'VARCHAR', path: 'Patient.id (Blue Button beneficiary id)', sql: 'r.id' },
      {
        name: 'mbi',
        type: 'VARCHAR',
        path: `Patient.identifier.where(system='${MBI}').value (the one marked current, else the first)`,
        sql: `coalesce(list_filter(r.identifier, lambda i: i.system = '${MBI}' AND list_has_any(list_transform(i.extension, lambda e: e->'valueCoding'->>'code'), ['current']))[1]."value", list_filter(r.identifier, lambda i: i.system = '${MBI}')[1]."value")`,
      },
      { name: 'family_name', type: 'VARCHAR', path: 'Patient.name[0].family', sql: 'r.name[1].family' },
      { name: 'given_name', type: 'VARCHAR', path: "Patient.name[0].given (joined with ' ')", sql: "array_to_string(r.name[1].given, ' ')" },
      { name: 'birth_date', type: 'DATE', path: 'Patient.birthDate', sql: 'fhir_date(r.birthDate)' },
      { name: 'sex', type: 'VARCHAR', path: 'Patient.gender', sql: 'r.gender' },
      { name: 'group_label', type: 'VARCHAR', path: 'export folder: group id or NPI the resource was exported under', sql: 'r.source_group' },
      { name: 'practitioner_npi', type: 'VARCHAR', path: "export: the group's practitioner NPI (manifest.json `npi`, or a label that is an NPI)", sql: 'r.source_npi' },
      lastUpdated,
    ],
  },
  {
    name: 'coverage',
    from: 'Coverage',
    description: 'one row per Medicare part per beneficiary',
    columns: [
      { name: 'coverage_id', type: 'VARCHAR', path: 'Coverage.id', sql: 'r.id' },
      { name: 'patient_id', type: 'VARCHAR', path: 'Coverage.beneficiary.reference (id part)', sql: 'ref_id(r.beneficiary.reference)' },
      { name: 'part', type: 'VARCHAR', path: 'Coverage.grouping.subPlan (Part A, B, C, D)', sql: 'r.grouping.subPlan' },
      { name: 'plan', type: 'VARCHAR', path: 'Coverage.grouping.subGroup (Medicare)', sql: 'r.grouping.subGroup' },
      { name: 'status', type: 'VARCHAR', path: 'Coverage.status', sql: 'r.status' },
      { name: 'period_start', type: 'DATE', path: 'Coverage.period.start', sql: 'fhir_date(r.period."start")' },
      { name: 'period_end', type: 'DATE', path: 'Coverage.period.end', sql: 'fhir_date(r.period."end")' },
      lastUpdated,
    ],
  },
  {
    name: 'claims',
    from: 'ExplanationOfBenefit',
    description: 'one row per claim (ExplanationOfBenefit header)',
    columns: [
      claimId,
      { name: 'patient_id', type: 'VARCHAR', path: 'ExplanationOfBenefit.patient.reference (id part)', sql: 'ref_id(r.patient.reference)' },
      { name: 'claim_type', type: 'VARCHAR', path: `ExplanationOfBenefit.type.coding.where(system='${EOB_TYPE}').code (CARRIER, INPATIENT, OUTPATIENT, PDE, DME, HHA, HOSPICE, SNF)`, sql: `coding_in(r.type.coding, '${EOB_TYPE}')` },
      { name: 'status', type: 'VARCHAR', path: 'ExplanationOfBenefit.status', sql: 'r.status' },
      {
        name: 'billing_npi',
        type: 'VARCHAR',
        path: `ExplanationOfBenefit.organization.identifier.value (institutional, PDE), else careTeam[0].extension('${NPI}').valueCoding.code (carrier: the billing organization)`,
        sql: `coalesce(CASE WHEN r.organization.identifier.system = '${NPI}' THEN r.organization.identifier."value" END, ext(r.careTeam[1].extension, '${NPI}')->'valueCoding'->>'code')`,
      },
      { name: 'rendering_npi', type: 'VARCHAR', path: "ExplanationOfBenefit.careTeam.where(role='primary').provider.identifier.value", sql: "care_team_npi(r.careTeam, 'primary')" },
      { name: 'service_start', type: 'DATE', path: 'ExplanationOfBenefit.billablePeriod.start', sql: 'fhir_date(r.billablePeriod."start")' },
      { name: 'service_end', type: 'DATE', path: 'ExplanationOfBenefit.billablePeriod.end', sql: 'fhir_date(r.billablePeriod."end")' },
      {
        name: 'charge_amount',
        type: 'DECIMAL(18,2)',
        path: `ExplanationOfBenefit.totalCost.value (institutional), else extension('${BB}nch_carr_clm_sbmtd_chrg_amt').valueMoney.value (carrier, DME), else the sum of the lines' charges (PDE)`,
        sql: `coalesce(r.totalCost."value", CAST(ext(r.extension, '${BB}nch_carr_clm_sbmtd_chrg_amt')->'valueMoney'->>'value' AS DECIMAL(18,2)), list_sum(list_transform(r.item, lambda i: adjudicated(i.adjudication, ${LINE_CHARGE}))))`,
      },
      {
        name: 'allowed_amount',
        type: 'DECIMAL(18,2)',
        path: `ExplanationOfBenefit.extension('${BB}nch_carr_clm_alowd_amt').valueMoney.value (carrier, DME; Blue Button gives no claim-level allowed amount for other types)`,
        sql: `ext(r.extension, '${BB}nch_carr_clm_alowd_amt')->'valueMoney'->>'value'`,
      },
      {
        name: 'paid_amount',
        type: 'DECIMAL(18,2)',
        path: "ExplanationOfBenefit.payment.amount.value, else the sum of the lines' paid amounts (PDE)",
        sql: `coalesce(r.payment.amount."value", list_sum(list_transform(r.item, lambda i: adjudicated(i.adjudication, ${LINE_PAID}))))`,
      },
      { name: 'drg_code', type: 'VARCHAR', path: `ExplanationOfBenefit.diagnosis.packageCode.coding.where(system='${DRG}').code (inpatient)`, sql: `list_filter(list_transform(r.diagnosis, lambda d: coding_in(d.packageCode.coding, '${DRG}')), lambda c: c IS NOT NULL)[1]` },
      lastUpdated,
    ],
  },
  {
    name: 'claim_lines',
    from: 'ExplanationOfBenefit',
    unnest: 'item',
    description: 'one row per claim line (ExplanationOfBenefit.item)',
    columns: [
      claimId,
      { name: 'line_number', type: 'INTEGER', path: 'item.sequence', sql: 'x."sequence"' },
      { name: 'service_date', type: 'DATE', path: 'item.servicedDate, else item.servicedPeriod.start', sql: 'coalesce(fhir_date(x.servicedDate), fhir_date(x.servicedPeriod."start"))' },
      { name: 'hcpcs_code', type: 'VARCHAR', path: `item.service.coding.where(system='${HCPCS}').code (HCPCS/CPT)`, sql: `coding_in(x.service.coding, '${HCPCS}')` },
      {
        name: 'ndc_code',
        type: 'VARCHAR',
        path: `item.service.coding.where(system='${NDC}').code (PDE), else item.extension('${NDC}').valueCoding.code (carrier), else item.service.extension('${BB}rev_cntr_ide_ndc_upc_num').valueCoding.code (outpatient)`,
        sql: `coalesce(coding_in(x.service.coding, '${NDC}'), ext(x.extension, '${NDC}')->'valueCoding'->>'code', ext(x.service.extension, '${BB}rev_cntr_ide_ndc_upc_num')->'valueCoding'->>'code')`,
      },
      { name: 'revenue_code', type: 'VARCHAR', path: `item.revenue.coding.where(system='${BB}rev_cntr').code (institutional)`, sql: `coding_in(x.revenue.coding, '${BB}rev_cntr')` },
      { name: 'quantity', type: 'DOUBLE', path: 'item.quantity.value', sql: 'x.quantity."value"' },
      { name: 'charge_amount', type: 'DECIMAL(18,2)', path: 'item.adjudication: line_sbmtd_chrg_amt (carrier), rev_cntr_tot_chrg_amt (institutional), tot_rx_cst_amt (PDE)', sql: `adjudicated(x.adjudication, ${LINE_CHARGE})` },
      { name: 'allowed_amount', type: 'DECIMAL(18,2)', path: 'item.adjudication: line_alowd_chrg_amt (carrier, DME)', sql: `adjudicated(x.adjudication, ${LINE_ALLOWED})` },
      { name: 'paid_amount', type: 'DECIMAL(18,2)', path: 'item.adjudication: line_nch_pmt_amt (carrier), rev_cntr_pmt_amt_amt (institutional), cvrd_d_plan_pd_amt (PDE)', sql: `adjudicated(x.adjudication, ${LINE_PAID})` },
    ],
  },
  {
    name: 'diagnoses',
    from: 'ExplanationOfBenefit',
    unnest: 'diagnosis',
    where: 'x.diagnosisCodeableConcept IS NOT NULL',
    description: 'one row per coded diagnosis of a claim (the DRG is claims.drg_code)',
    columns: [
      claimId,
      { name: 'sequence', type: 'INTEGER', path: 'diagnosis.sequence', sql: 'x."sequence"' },
      { name: 'code', type: 'VARCHAR', path: 'diagnosis.diagnosisCodeableConcept.coding[0].code (ICD-10-CM, or ICD-9-CM for old claims)', sql: 'x.diagnosisCodeableConcept.coding[1].code' },
      { name: 'code_system', type: 'VARCHAR', path: 'diagnosis.diagnosisCodeableConcept.coding[0].system', sql: 'x.diagnosisCodeableConcept.coding[1]."system"' },
      { name: 'type', type: 'VARCHAR', path: 'diagnosis.type[0].coding[0].code (principal, admitting, other, external-first, …)', sql: 'x."type"[1].coding[1].code' },
    ],
  },
  {
    name: 'procedures',
    from: 'ExplanationOfBenefit',
    unnest: 'procedure',
    description: 'one row per coded procedure of a claim (institutional claims)',
    columns: [
      claimId,
      { name: 'sequence', type: 'INTEGER', path: 'procedure.sequence', sql: 'x."sequence"' },
      { name: 'code', type: 'VARCHAR', path: 'procedure.procedureCodeableConcept.coding[0].code (ICD-10-PCS)', sql: 'x.procedureCodeableConcept.coding[1].code' },
      { name: 'code_system', type: 'VARCHAR', path: 'procedure.procedureCodeableConcept.coding[0].system', sql: 'x.procedureCodeableConcept.coding[1]."system"' },
      { name: 'procedure_date', type: 'DATE', path: 'procedure.date (date part)', sql: 'fhir_date(x.date)' },
    ],
  },
];

/** A column read from the unnested element `x` (the others read the resource `r`). Pure. */
const readsElement = (column: FlatColumn): boolean => /\bx[."]/.test(column.sql);

/**
 * The SELECT that fills `table` from the raw Parquet file of its resource type. Pure. For a line, diagnosis or
 * procedure table, the element's columns are computed inside a list lambda before the unnest, so only those narrow
 * values are unnested (unnesting the whole element struct first was five times slower).
 */
export function flatTableSql(table: FlatTable, rawSource: string): string {
  const cast = (c: FlatColumn) => `CAST(${c.sql} AS ${c.type})`;
  if (!table.unnest) {
    return `SELECT\n  ${table.columns.map((c) => `${cast(c)} AS "${c.name}"`).join(',\n  ')}\nFROM ${rawSource} r`;
  }
  const outer = table.columns.filter((c) => !readsElement(c)).map((c) => `${cast(c)} AS "${c.name}"`);
  const element = `{${table.columns.filter(readsElement).map((c) => `'${c.name}': ${cast(c)}`).join(', ')}}`;
  const list = table.where ? `list_filter(r."${table.unnest}", lambda x: ${table.where})` : `r."${table.unnest}"`;
  return `SELECT\n  ${[...outer, `unnest(list_transform(${list}, lambda x: ${element}), recursive := true)`].join(',\n  ')}\nFROM ${rawSource} r`;
}
