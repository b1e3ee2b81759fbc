/** Malformed Patient and Practitioner files (Bundle, $submit Parameters or a bare resource): one bad entry or shape each. */
import { badMbi, badNpi, birthDate, NAMES, validMbi, validNpi, type FuzzCase, type Random } from './common.js';

const MBI_SYSTEM = 'http://hl7.org/fhir/sid/us-mbi';
const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

function patient(r: Random): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    identifier: [{ system: MBI_SYSTEM, value: validMbi(r) }],
    name: [{ family: r.pick(NAMES), given: [r.pick(NAMES)] }],
    gender: r.pick(['male', 'female', 'other', 'unknown']),
    birthDate: birthDate(r),
  };
}

function practitioner(r: Random): Record<string, unknown> {
  return { resourceType: 'Practitioner', identifier: [{ system: NPI_SYSTEM, value: validNpi(r) }], name: [{ family: r.pick(NAMES), given: [r.pick(NAMES)] }] };
}

/** A Bundle, the $submit Parameters wrapper DPC's samples use, or (for one resource) the bare resource. */
function wrap(r: Random, resources: unknown[]): unknown {
  const form = resources.length === 1 ? r.int(0, 2) : r.int(0, 1);
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) };
  if (form === 0) return bundle;
  if (form === 1) return { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: bundle }] };
  return resources[0];
}

export function bundleCase(r: Random, n: number, type: 'Patient' | 'Practitioner'): FuzzCase {
  const file = `${type.toLowerCase()}s-${n}.json`;
  const resources = Array.from({ length: r.int(1, 6) }, () => (type === 'Patient' ? patient(r) : practitioner(r)));
  const k = r.int(0, resources.length - 1);
  const res = resources[k] as Record<string, any>;
  const entry = `${file}: entry ${k + 1} `;
  let where = entry;
  let problem: RegExp;
  const common = ['family-missing', 'given-missing', 'given-blank', 'name-missing', 'identifier-missing', 'wrong-system', 'value-not-string', 'given-not-array', 'family-not-string', 'identifier-not-array', 'identifier-null', 'name-not-array', 'entry-null', 'entry-not-array', 'no-resources'];
  const own = type === 'Patient' ? ['mbi', 'gender', 'gender-missing', 'birth-date', 'birth-date-missing', 'birth-date-not-string', 'gender-not-string'] : ['npi', 'two-npis'];
  const kind = r.pick([...common, ...own, ...own]);
  const idProblem = type === 'Patient' ? /needs a http:\/\/hl7\.org\/fhir\/sid\/us-mbi identifier/ : /needs exactly one http:\/\/hl7\.org\/fhir\/sid\/us-npi identifier \(found 0\)/;
  let json: unknown;
  switch (kind) {
    case 'family-missing':
      delete res.name[0].family;
      problem = /name\.family is required/;
      break;
    case 'given-missing':
      delete res.name[0].given;
      problem = /name\.given is required/;
      break;
    case 'given-blank':
      res.name[0].given = [r.pick(['', ' '])];
      problem = /name\.given is required/;
      break;
    case 'name-missing':
      delete res.name;
      problem = /name\.family is required/;
      break;
    case 'identifier-missing':
      delete res.identifier;
      problem = idProblem;
      break;
    case 'wrong-system':
      res.identifier[0].system = r.pick(['http://hl7.org/fhir/sid/us-ssn', 'urn:oid:1.2.3', '']);
      problem = idProblem;
      break;
    case 'value-not-string':
      res.identifier[0].value = r.pick([12345678901, true, { v: 1 }, ['1S00E00AA01']]);
      problem = /identifier|MBI|NPI/;
      break;
    case 'given-not-array':
      res.name[0].given = r.pick(['Ann', 7, { first: 'Ann' }]);
      problem = /name\.given/;
      break;
    case 'family-not-string':
      res.name[0].family = r.pick([7, ['Lee'], { text: 'Lee' }]);
      problem = /name\.family/;
      break;
    case 'identifier-not-array':
      res.identifier = r.pick([{ system: type === 'Patient' ? MBI_SYSTEM : NPI_SYSTEM, value: 'x' }, 'x', 5]);
      problem = /identifier/;
      break;
    case 'identifier-null':
      res.identifier = [null];
      problem = /identifier/;
      break;
    case 'name-not-array':
      res.name = r.pick(['Ann Lee', 5, { family: 'Lee' }]);
      problem = /name/;
      break;
    case 'entry-null':
      json = { resourceType: 'Bundle', type: 'collection', entry: resources.map((x, i) => (i === k ? null : { resource: x })) };
      where = `${file}: entry ${k + 1}`;
      problem = /.+/;
      break;
    case 'entry-not-array':
      json = { resourceType: 'Bundle', type: 'collection', entry: r.pick([{ resource: resources[0] }, 'x', 3]) };
      where = `${file}`;
      problem = /entry|no (Patient|Practitioner) resources/;
      break;
    case 'no-resources':
      json = r.pick([{ resourceType: 'Bundle', type: 'collection', entry: [] }, { resourceType: 'Bundle' }, {}, [], { resourceType: type === 'Patient' ? 'Practitioner' : 'Patient' }, 'text', 42, null]);
      where = file;
      problem = new RegExp(`no ${type} resources found`);
      break;
    case 'mbi':
      res.identifier[0].value = badMbi(r);
      problem = /invalid MBI ".*"/;
      break;
    case 'gender':
      res.gender = r.pick(['M', 'F', 'x', 'Female', 'unknow']);
      problem = /invalid gender ".*"/;
      break;
    case 'gender-missing':
      delete res.gender;
      problem = /gender is required/;
      break;
    case 'gender-not-string':
      res.gender = r.pick([1, true, ['male']]);
      problem = /gender/;
      break;
    case 'birth-date':
      res.birthDate = r.pick(['1950-02-30', '2999-01-01', '1800-01-01', '1950/01/01', 'yesterday']);
      problem = /invalid birth date ".*" \((no such day|in the future|before 1900|expected YYYY-MM-DD)\)/;
      break;
    case 'birth-date-missing':
      delete res.birthDate;
      problem = /birthDate is required/;
      break;
    case 'birth-date-not-string':
      res.birthDate = r.pick([19500101, { year: 1950 }, true]);
      problem = /birth ?[dD]ate/;
      break;
    case 'npi':
      res.identifier[0].value = badNpi(r);
      problem = /invalid NPI ".*"/;
      break;
    default: // two-npis
      res.identifier.push({ system: NPI_SYSTEM, value: validNpi(r) });
      problem = /needs exactly one http:\/\/hl7\.org\/fhir\/sid\/us-npi identifier \(found 2\)/;
      break;
  }
  json ??= wrap(r, resources);
  return { id: `${type.toLowerCase()}s#${n} ${kind}`, kind, file, content: JSON.stringify(json, null, r.chance(0.5) ? 2 : undefined), where, problem, code: 'ERR_INPUT', exitCode: 2 };
}
