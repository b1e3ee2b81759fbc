/**
 * User-supplied FHIR input: the one rejection error, and structure checks for FHIR JSON done once where the file
 * enters (resourcesOfType), so the profile checks, roster planning and table output can trust the declared types of
 * the fields they read. Each problem names the field path: `identifier[1].value must be a string, got a number`; an
 * element index is shown only when the array holds several (`name.given`, as in FHIRPath, for the usual single name).
 */
import { DpcError } from '../errors.js';
import { isObject, kindOf } from '../json.js';

/**
 * The one error for input that cannot be sent. Problems already start with their `file:line` or `file: entry N`.
 * A single problem is the message itself; several get a one-line summary with every problem in `details`.
 */
export function inputRejected(location: string, problems: readonly string[]): DpcError {
  if (problems.length === 1) return new DpcError('ERR_INPUT', `${problems[0]}; nothing was sent`, { location });
  return new DpcError('ERR_INPUT', `${location}: ${problems.length} problems found, nothing was sent`, { location, details: [...problems] });
}

/** Pushes a problem per malformed part; `self` names the value itself when it differs from its fields' prefix. */
type Check = (value: unknown, path: string, problems: string[], self?: string) => void;

const string: Check = (value, path, problems, self = path) => {
  if (typeof value !== 'string') problems.push(`${self} must be a string, got ${kindOf(value)}`);
};

/** An object whose listed fields, when present, pass their checks; other fields are not read and not checked. */
function object(fields: Record<string, Check>): Check {
  return (value, path, problems, self = path) => {
    if (!isObject(value)) {
      problems.push(`${self} must be an object, got ${kindOf(value)}`);
      return;
    }
    for (const [name, check] of Object.entries(fields)) {
      if (Object.hasOwn(value, name) && value[name] !== undefined) check(value[name], path === '' ? name : `${path}.${name}`, problems);
    }
  };
}

function arrayOf(item: Check): Check {
  return (value, path, problems, self = path) => {
    if (!Array.isArray(value)) {
      problems.push(`${self} must be an array, got ${kindOf(value)}`);
      return;
    }
    value.forEach((element, i) => item(element, value.length > 1 ? `${path}[${i}]` : path, problems, `${path}[${i}]`));
  };
}

const identifier = object({
  system: string,
  value: string,
  extension: arrayOf(object({ url: string, valueCoding: object({ code: string }) })),
});

/** The Practitioner/Patient fields the client reads (STU3: HumanName.family is one string, given a list). */
const person = object({
  identifier: arrayOf(identifier),
  name: arrayOf(object({ family: string, given: arrayOf(string) })),
  gender: string,
  birthDate: string,
});

/** Structure problems of a Practitioner or Patient object, as `<field path> must be ..., got ...`. */
export function personShapeProblems(resource: Record<string, unknown>): string[] {
  const problems: string[] = [];
  person(resource, '', problems, 'the resource');
  return problems;
}
