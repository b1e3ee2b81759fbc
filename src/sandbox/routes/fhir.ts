/** FHIR plumbing shared by the resource routes: reading bodies, bundles, `$submit`/`$validate` unpacking, replies. */
import type * as fhir3 from 'fhir/r3.js';
import { ApiError, FHIR_JSON, parseJson, validationOutcome, type Reply } from '../http.js';
import { formatInstant } from '../clock.js';
import { hapiParseProblem } from '../hapi-parse.js';
import { isRecord, record, records } from '../shape.js';
import type { Ctx } from '../router.js';

/**
 * A FHIR resource as HAPI's JSON parser writes it (DPC's FHIRHandler): elements without content are left out — empty
 * lists and objects, and blank strings (PrimitiveType.isEmpty) — so an empty search has no `entry` and a roster
 * without members no `member` (the sandbox builds them as `[]`).
 */
function hapiJson(value: unknown): unknown {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (Array.isArray(value)) {
    const items = value.map(hapiJson).filter((item) => item !== undefined);
    return items.length > 0 ? items : undefined;
  }
  if (isRecord(value)) {
    const fields = Object.entries(value).map(([key, field]) => [key, hapiJson(field)] as const).filter(([, field]) => field !== undefined);
    return fields.length > 0 ? Object.fromEntries(fields) : undefined;
  }
  return value;
}

export function fhirReply(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, body: hapiJson(body), contentType: FHIR_JSON, ...(headers ? { headers } : {}) };
}

/**
 * POST of one Patient or Practitioner: 201 with Location and Last-Modified when it was stored, else 200 with the
 * org's existing one (same MBI or NPI).
 */
export function upsertReply(baseUrl: string, type: 'Patient' | 'Practitioner', upserted: { record: { id: string; lastUpdated: number }; created: boolean }, resource: fhir3.Resource): Reply {
  const { record, created } = upserted;
  if (!created) return fhirReply(200, resource, {});
  return fhirReply(201, resource, { Location: `${baseUrl}/${type}/${record.id}`, 'Last-Modified': new Date(record.lastUpdated).toUTCString() });
}

export async function readResource(ctx: Ctx): Promise<Record<string, unknown>> {
  // Jersey reads a body without Content-Type as application/octet-stream, which FHIRHandler (@Consumes FHIR JSON) does
  // not take: no MessageBodyReader, 415 (FHIRRequestFilter only refuses a Content-Type that is present and not FHIR)
  if (ctx.req.headers['content-type'] === undefined) throw new ApiError(415, 'HTTP 415 Unsupported Media Type');
  const body = parseJson(await ctx.body(), 'fhir');
  if (!isRecord(body) || typeof body.resourceType !== 'string') throw new ApiError(400, 'Failed to parse request body as JSON resource');
  // DPC: FHIRHandler.readFrom — a value HAPI's parser refuses is 422 when its message holds "Invalid attribute value"
  const problem = hapiParseProblem(body);
  if (problem) throw new ApiError(422, problem);
  return body;
}

/**
 * The resources of the given type in a `$submit` body: Parameters whose first parameter's resource is a Bundle. DPC's
 * API and attribution pass over entries without a resource or of another type (APIHelpers.bulkResourceClient,
 * FHIRExtractors.getResourceStream), and an empty submission is attribution's 422 "No practitioners submitted".
 */
export function submittedEntries<T extends fhir3.Practitioner | fhir3.Patient>(body: Record<string, unknown>, resourceType: T['resourceType']): T[] {
  const bundle = body.resourceType === 'Parameters' ? record(records(body.parameter)[0]?.resource) : {};
  if (bundle.resourceType !== 'Bundle') {
    throw new ApiError(422, 'Body must be a Parameters resource whose first parameter is a Bundle', {
      body: validationOutcome(['Body must be a Parameters resource whose first parameter is a Bundle']),
    });
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw new ApiError(400, 'Failed to parse request body as JSON resource: Bundle.entry must be an array');
  const entries = records(bundle.entry).map((e) => record(e.resource)).filter((r) => r.resourceType === resourceType);
  if (entries.length === 0) throw new ApiError(422, `No ${resourceType.toLowerCase()}s submitted`);
  // only the resource type is known here: the profile checks read them defensively
  return entries as unknown as T[];
}

/**
 * All-or-nothing validation of submitted entries. DPC: APIHelpers.bulkResourceClient ends the request with a plain
 * WebApplicationException (one fatal issue, 422) whose message is the failing entry's validation messages joined by
 * ", "; it validates in parallel, so which failing entry it reports is not fixed (the sandbox reports the first).
 */
export function validateAll(entries: readonly unknown[], violations: (r: unknown) => string[]): void {
  const failing = entries.map(violations).find((messages) => messages.length > 0);
  if (failing) throw new ApiError(422, failing.join(', '));
}

/**
 * DPC: attribution bulkSubmitProviders / bulkSubmitPatients — what the org already has is looked up first; the answer
 * lists the newly stored resources in submission order, then the ones that already existed.
 */
export function bulkSubmit<E, R>(entries: readonly E[], keyOf: (entry: E) => string, stored: readonly R[], storedKey: (record: R) => string, insert: (entry: E) => R): R[] {
  const keys = new Set(entries.map(keyOf));
  const existing = stored.filter((r) => keys.has(storedKey(r)));
  const existingKeys = new Set(existing.map(storedKey));
  return [...entries.filter((e) => !existingKeys.has(keyOf(e))).map(insert), ...existing];
}

/** Single-resource validation: 422 OperationOutcome with one issue per violation. */
export function validateOne(resource: unknown, violations: (r: unknown) => string[]): void {
  const messages = violations(resource);
  if (messages.length > 0) throw new ApiError(422, messages[0]!, { body: validationOutcome(messages) });
}

/** `$validate`: always 200 with the validation messages (HAPI's "no issues" information when clean). */
export function validateOperation(body: Record<string, unknown>, violations: (r: unknown) => string[]): Reply {
  const resource = body.resourceType === 'Parameters' ? records(body.parameter).find((p) => p.resource)?.resource : body;
  const messages = violations(resource);
  // HAPI ValidationResult.toOperationOutcome: no id; each message an `error` issue with code `processing`, the text in
  // `diagnostics` and where it applies in `location`; none → one `informational` issue
  const issue: fhir3.OperationOutcomeIssue[] = messages.length === 0
    ? [{ severity: 'information', code: 'informational', diagnostics: 'No issues detected during validation' }]
    : messages.map((diagnostics) => {
      const location = /^([A-Z][\w.:\-\[\]]*): /.exec(diagnostics)?.[1];
      return { severity: 'error', code: 'processing', diagnostics, ...(location ? { location: [location] } : {}) };
    });
  return fhirReply(200, { resourceType: 'OperationOutcome', issue });
}

export function searchset(resources: readonly fhir3.Resource[], extra: Partial<fhir3.Bundle> = {}): fhir3.Bundle {
  return { resourceType: 'Bundle', type: 'searchset', total: resources.length, entry: resources.map((resource) => ({ resource })), ...extra };
}

/** DPC: dpc-common BundleHandler sets `total` on searchsets only. */
export function collectionBundle(resources: readonly fhir3.Resource[]): fhir3.Bundle {
  return { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) };
}

/** The stored fields of a Patient or Practitioner record that attribution's converters write back. */
interface EntityFields {
  id: string;
  lastUpdated: number;
  identifier: fhir3.Identifier;
  names: readonly fhir3.HumanName[] | undefined;
}

/**
 * What attribution's entity converters write back for a stored Patient or Practitioner (dpc-common
 * converters/entities/PatientEntityConverter.java, ProviderEntityConverter.java): meta with the entity's update time
 * (FHIRFormatters.INSTANT_FORMATTER) and the DPC profile, the one identifier, and the first name only, its given
 * names as one string (HumanName.getGivenAsSingleString); `rest` (elements after `name`, in HAPI's order) is the
 * converter's own. Nothing else of the submitted resource is kept.
 */
export function entityResource<T extends fhir3.Patient | fhir3.Practitioner>(resourceType: T['resourceType'], fields: EntityFields, rest: Partial<T> = {}): T {
  const profile = resourceType === 'Patient' ? 'dpc-profile-patient' : 'dpc-profile-practitioner';
  const name = record(fields.names?.[0]);
  const given = (Array.isArray(name.given) ? name.given : []).filter((g): g is string => typeof g === 'string');
  return {
    resourceType,
    id: fields.id,
    meta: { lastUpdated: formatInstant(fields.lastUpdated), profile: [`https://dpc.cms.gov/api/v1/StructureDefinition/${profile}`] },
    identifier: [fields.identifier],
    name: [{ ...(typeof name.family === 'string' ? { family: name.family } : {}), ...(given.length > 0 ? { given: [given.join(' ')] } : {}) }],
    ...rest,
  } as T;
}
