/** FHIR plumbing shared by the resource routes: reading bodies, bundles, `$submit`/`$validate` unpacking, replies. */
import type * as fhir3 from 'fhir/r3.js';
import { ApiError, FHIR_JSON, logId, parseJson, validationOutcome, type Reply } from '../http.js';
import { isRecord, record, records } from '../shape.js';
import type { Ctx } from '../router.js';

const ORG_TAG_SYSTEM = 'https://dpc.cms.gov/organization_id#';

export function fhirReply(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { status, body, contentType: FHIR_JSON, ...(headers ? { headers } : {}) };
}

export async function readResource(ctx: Ctx): Promise<Record<string, unknown>> {
  const body = parseJson(await ctx.body(), 'fhir');
  if (!isRecord(body) || typeof body.resourceType !== 'string') throw new ApiError(400, 'Failed to parse request body as JSON resource');
  return body;
}

/** The resources of a `$submit` body: Parameters whose first parameter's resource is a Bundle. */
export function submittedEntries(body: Record<string, unknown>): unknown[] {
  const bundle = body.resourceType === 'Parameters' ? record(records(body.parameter)[0]?.resource) : {};
  if (bundle.resourceType !== 'Bundle') {
    throw new ApiError(422, 'Body must be a Parameters resource whose first parameter is a Bundle', {
      body: validationOutcome(['Body must be a Parameters resource whose first parameter is a Bundle']),
    });
  }
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) throw new ApiError(400, 'Failed to parse request body as JSON resource: Bundle.entry must be an array');
  return ((bundle.entry ?? []) as unknown[]).map((e) => record(e).resource);
}

/** All-or-nothing validation of submitted entries; the 422 names every bad entry. */
export function validateAll(entries: readonly unknown[], violations: (r: unknown) => string[]): void {
  const messages = entries.flatMap((resource, i) => violations(resource).map((m) => `Bundle.entry[${i}]: ${m}`));
  if (messages.length > 0) throw new ApiError(422, messages[0]!, { body: validationOutcome(messages) });
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
  const issue: fhir3.OperationOutcomeIssue[] = messages.length === 0
    ? [{ severity: 'information', code: 'informational', diagnostics: 'No issues detected during validation' }]
    : messages.map((text) => ({ severity: 'error', code: 'invalid', details: { text } }));
  return fhirReply(200, { resourceType: 'OperationOutcome', id: logId(), issue });
}

export function searchset(resources: readonly fhir3.Resource[], extra: Partial<fhir3.Bundle> = {}): fhir3.Bundle {
  return { resourceType: 'Bundle', type: 'searchset', total: resources.length, entry: resources.map((resource) => ({ resource })), ...extra };
}

export function collectionBundle(resources: readonly fhir3.Resource[]): fhir3.Bundle {
  return { resourceType: 'Bundle', type: 'collection', total: resources.length, entry: resources.map((resource) => ({ resource })) };
}

export function orgMeta(orgId: string, lastUpdated: number): fhir3.Meta {
  return { lastUpdated: new Date(lastUpdated).toISOString(), tag: [{ system: ORG_TAG_SYSTEM, code: orgId }] };
}
