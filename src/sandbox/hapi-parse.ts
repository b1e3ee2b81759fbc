/**
 * The primitive values HAPI's JSON parser refuses while DPC reads a FHIR body (dpc-common FHIRHandler.readFrom): its
 * LenientErrorHandler throws for an invalid value, and FHIRHandler answers a message holding "Invalid attribute value"
 * with 422. The sandbox checks the elements it reads or that DPC's profiles require — gender and birth date, the
 * boolean flags, Group.type — not every primitive of FHIR STU3. Pure functions over parsed JSON.
 */
import { isRecord, records } from './shape.js';

const GENDERS = ['male', 'female', 'other', 'unknown'];
const GROUP_TYPES = ['person', 'animal', 'practitioner', 'device', 'medication', 'substance'];
/** FHIR `date`: YYYY, YYYY-MM or YYYY-MM-DD, months 1–12 and days 1–31 as HAPI's BaseDateTimeType checks them. */
const DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;

/** ca.uhn.fhir.util.UrlUtil.sanitizeUrlPart: the value as HAPI quotes it in the message. */
function sanitized(value: string): string {
  const entities: Record<string, string> = { "'": '&apos;', '"': '&quot;', '<': '&lt;', '>': '&gt;', '\n': '&#10;', '\r': '&#13;' };
  return value.replace(/['"<>\n\r]/g, (c) => entities[c]!);
}

/** LenientErrorHandler.invalidValue's DataFormatException, located by the element's name. */
function invalid(element: string, value: unknown, error: string): string {
  return `HAPI-1821: [element="${element}"] Invalid attribute value "${sanitized(String(value))}": ${error}`;
}

function booleanProblem(element: string, value: unknown): string | undefined {
  if (value === undefined || value === true || value === false || value === 'true' || value === 'false') return undefined;
  return invalid(element, value, `Invalid boolean string: '${String(value)}'`);
}

function codeProblem(element: string, value: unknown, codes: readonly string[], enumName: string): string | undefined {
  if (value === undefined || (typeof value === 'string' && codes.includes(value))) return undefined;
  return invalid(element, value, `Unknown ${enumName} code '${String(value)}'`);
}

function resourceProblems(resource: Record<string, unknown>): Array<string | undefined> {
  switch (resource.resourceType) {
    case 'Patient':
    case 'Practitioner': {
      const birthDate = resource.birthDate;
      const badDate = birthDate !== undefined && !(typeof birthDate === 'string' && DATE.test(birthDate));
      return [
        booleanProblem('active', resource.active),
        codeProblem('gender', resource.gender, GENDERS, 'AdministrativeGender'),
        badDate ? invalid('birthDate', birthDate, `HAPI-1882: Invalid date/time format: "${String(birthDate)}"`) : undefined,
      ];
    }
    case 'Group':
      return [
        codeProblem('type', resource.type, GROUP_TYPES, 'GroupType'),
        booleanProblem('actual', resource.actual),
        booleanProblem('active', resource.active),
        ...records(resource.member).map((m) => booleanProblem('inactive', m.inactive)),
      ];
    case 'Parameters':
      return records(resource.parameter).flatMap((p) => (isRecord(p.resource) ? resourceProblems(p.resource) : []));
    case 'Bundle':
      return records(resource.entry).flatMap((e) => (isRecord(e.resource) ? resourceProblems(e.resource) : []));
    default:
      return [];
  }
}

/** The first value HAPI would refuse in a body (nested resources of Parameters and Bundles too), or undefined. */
export function hapiParseProblem(resource: Record<string, unknown>): string | undefined {
  return resourceProblems(resource).find((problem) => problem !== undefined);
}
