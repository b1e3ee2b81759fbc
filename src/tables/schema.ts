/**
 * The raw tables' column types: FHIR STU3 Patient, Coverage and ExplanationOfBenefit as DuckDB nested types, covering
 * every element Blue Button (BFD v1, which DPC serves) emits in its published sample responses of every claim type
 * (extensions as JSON, see below).
 * A fixed schema (not inferred per export) keeps the flat tables' SQL valid and the Parquet schema stable across
 * incremental runs. Primitive dates and dateTimes stay text in the raw tables (FHIR allows partial dates such as
 * `2021`); money is DECIMAL(18,2); `contained` resources are kept whole as JSON. Pure data.
 */

const coding = 'STRUCT("system" VARCHAR, "version" VARCHAR, code VARCHAR, display VARCHAR)';
const concept = (extra = '') => `STRUCT(${extra}coding ${coding}[], "text" VARCHAR)`;
const money = 'STRUCT("value" DECIMAL(18,2), "system" VARCHAR, code VARCHAR, currency VARCHAR)';
const period = 'STRUCT("start" VARCHAR, "end" VARCHAR)';

/**
 * Extensions stay JSON (one text column per list, read with DuckDB's `->>`): typed, each of the dozens of places that
 * may carry one would add ~50 Parquet leaf columns, and thousands of leaves make the Parquet writer slow and hungry.
 */
const extension = 'JSON';
const ext = `"extension" ${extension}[]`;

const codeable = concept(`${ext}, `);
const identifier = `STRUCT(${ext}, "use" VARCHAR, "type" ${concept()}, "system" VARCHAR, "value" VARCHAR, period ${period})`;
const reference = `STRUCT(${ext}, reference VARCHAR, identifier ${identifier}, display VARCHAR)`;
const quantity = `STRUCT(${ext}, "value" DOUBLE, comparator VARCHAR, unit VARCHAR, "system" VARCHAR, code VARCHAR)`;
const periodWithExt = `STRUCT(${ext}, "start" VARCHAR, "end" VARCHAR)`;
const meta = 'STRUCT(versionId VARCHAR, lastUpdated VARCHAR, profile VARCHAR[], "security" STRUCT("system" VARCHAR, code VARCHAR, display VARCHAR)[], tag STRUCT("system" VARCHAR, code VARCHAR, display VARCHAR)[])';
const address = 'STRUCT("use" VARCHAR, "type" VARCHAR, "text" VARCHAR, line VARCHAR[], city VARCHAR, district VARCHAR, state VARCHAR, postalCode VARCHAR, country VARCHAR)';
const humanName = `STRUCT("use" VARCHAR, "text" VARCHAR, family VARCHAR, given VARCHAR[], prefix VARCHAR[], suffix VARCHAR[], period ${period})`;

type Columns = Readonly<Record<string, string>>;

const resourceBase: Columns = {
  resourceType: 'VARCHAR',
  id: 'VARCHAR',
  meta,
  extension: `${extension}[]`,
};

const patient: Columns = {
  ...resourceBase,
  identifier: `${identifier}[]`,
  active: 'BOOLEAN',
  name: `${humanName}[]`,
  telecom: 'STRUCT("system" VARCHAR, "value" VARCHAR, "use" VARCHAR)[]',
  gender: 'VARCHAR',
  birthDate: 'VARCHAR',
  deceasedBoolean: 'BOOLEAN',
  deceasedDateTime: 'VARCHAR',
  address: `${address}[]`,
  managingOrganization: reference,
};

const coverage: Columns = {
  ...resourceBase,
  identifier: `${identifier}[]`,
  status: 'VARCHAR',
  type: codeable,
  subscriber: reference,
  subscriberId: 'VARCHAR',
  beneficiary: reference,
  relationship: codeable,
  period,
  payor: `${reference}[]`,
  grouping: 'STRUCT("group" VARCHAR, groupDisplay VARCHAR, subGroup VARCHAR, subGroupDisplay VARCHAR, plan VARCHAR, planDisplay VARCHAR, subPlan VARCHAR, subPlanDisplay VARCHAR, "class" VARCHAR, classDisplay VARCHAR, subClass VARCHAR, subClassDisplay VARCHAR)',
  dependent: 'VARCHAR',
  sequence: 'VARCHAR',
  order: 'BIGINT',
  network: 'VARCHAR',
  contract: `${reference}[]`,
};

const adjudication = `STRUCT(${ext}, category ${codeable}, reason ${codeable}, amount ${money}, "value" DOUBLE)`;

const eobItem =
  'STRUCT(' +
  [
    ext,
    '"sequence" BIGINT',
    'careTeamLinkId BIGINT[]',
    'diagnosisLinkId BIGINT[]',
    'procedureLinkId BIGINT[]',
    'informationLinkId BIGINT[]',
    `revenue ${codeable}`,
    `category ${codeable}`,
    `service ${codeable}`,
    `modifier ${codeable}[]`,
    `programCode ${codeable}[]`,
    'servicedDate VARCHAR',
    `servicedPeriod ${periodWithExt}`,
    `locationCodeableConcept ${codeable}`,
    `locationAddress ${address}`,
    `locationReference ${reference}`,
    `quantity ${quantity}`,
    `unitPrice ${money}`,
    'factor DOUBLE',
    `net ${money}`,
    `bodySite ${codeable}`,
    `subSite ${codeable}[]`,
    'noteNumber BIGINT[]',
    `adjudication ${adjudication}[]`,
    `detail STRUCT("sequence" BIGINT, "type" ${codeable}, service ${codeable}, quantity ${quantity}, net ${money}, adjudication ${adjudication}[])[]`,
  ].join(', ') +
  ')';

const explanationOfBenefit: Columns = {
  ...resourceBase,
  contained: 'JSON[]',
  identifier: `${identifier}[]`,
  status: 'VARCHAR',
  type: codeable,
  subType: `${codeable}[]`,
  patient: reference,
  billablePeriod: periodWithExt,
  created: 'VARCHAR',
  enterer: reference,
  insurer: reference,
  provider: reference,
  organization: reference,
  referral: reference,
  facility: reference,
  claim: reference,
  claimResponse: reference,
  outcome: codeable,
  disposition: 'VARCHAR',
  related: `STRUCT(claim ${reference}, relationship ${codeable}, reference ${identifier})[]`,
  prescription: reference,
  originalPrescription: reference,
  payee: `STRUCT("type" ${codeable}, resourceType ${codeable}, party ${reference})`,
  information: `STRUCT(${ext}, "sequence" BIGINT, category ${codeable}, code ${codeable}, timingDate VARCHAR, timingPeriod ${period}, valueString VARCHAR, valueQuantity ${quantity}, valueAttachment STRUCT(contentType VARCHAR, url VARCHAR, title VARCHAR), valueReference ${reference}, reason ${codeable})[]`,
  careTeam: `STRUCT(${ext}, "sequence" BIGINT, provider ${reference}, responsible BOOLEAN, "role" ${codeable}, qualification ${codeable})[]`,
  diagnosis: `STRUCT(${ext}, "sequence" BIGINT, diagnosisCodeableConcept ${codeable}, diagnosisReference ${reference}, "type" ${codeable}[], packageCode ${codeable})[]`,
  procedure: `STRUCT(${ext}, "sequence" BIGINT, date VARCHAR, procedureCodeableConcept ${codeable}, procedureReference ${reference})[]`,
  precedence: 'BIGINT',
  insurance: `STRUCT(coverage ${reference}, preAuthRef VARCHAR[])`,
  accident: `STRUCT(date VARCHAR, "type" ${codeable}, locationAddress ${address})`,
  employmentImpacted: period,
  hospitalization: periodWithExt,
  item: `${eobItem}[]`,
  totalCost: money,
  unallocDeductable: money,
  totalBenefit: money,
  payment: `STRUCT(${ext}, "type" ${codeable}, adjustment ${money}, adjustmentReason ${codeable}, date VARCHAR, amount ${money}, identifier ${identifier})`,
  form: codeable,
  processNote: `STRUCT(number BIGINT, "type" ${codeable}, "text" VARCHAR, "language" ${codeable})[]`,
  benefitBalance: `STRUCT(category ${codeable}, subCategory ${codeable}, excluded BOOLEAN, "name" VARCHAR, description VARCHAR, network ${codeable}, unit ${codeable}, term ${codeable}, financial STRUCT("type" ${codeable}, allowedUnsignedInt BIGINT, allowedString VARCHAR, allowedMoney ${money}, usedUnsignedInt BIGINT, usedMoney ${money})[])[]`,
};

/** Resource types with a fixed raw schema; other types in an export get a schema inferred from their files. */
export const RAW_SCHEMAS: Readonly<Record<string, Columns>> = {
  Patient: patient,
  Coverage: coverage,
  ExplanationOfBenefit: explanationOfBenefit,
};

/** `raw_explanationofbenefit` for `ExplanationOfBenefit`: one raw table per resource type. Pure. */
export function rawTableName(type: string): string {
  return `raw_${type.toLowerCase()}`;
}

/** `maximum_object_size` of DuckDB's JSON readers over export files: one line (a resource, a Bundle) up to 64 MiB. */
export const MAX_JSON_LINE_BYTES = 64 * 1024 * 1024;

/** The `columns={…}` argument of DuckDB's read_json for a schema. Pure. */
export function columnsArgument(columns: Columns): string {
  return `{${Object.entries(columns)
    .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
    .join(', ')}}`;
}

/** A SQL string literal. Pure. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL identifier in double quotes. Pure. */
export function sqlIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
