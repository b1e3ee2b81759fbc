/**
 * The one way FHIR resource requests are made: typed calls over the project's Transport.
 *
 * Why not fhir-kit-client (measured against a loopback node:http server, fhir-kit-client 2.0.3 with the shared
 * undici 7 Agent as `requestOptions.dispatcher`):
 *  - a 429 with `Retry-After: 1` on POST is thrown at once (one attempt); the Transport retries it;
 *  - `nextPage()` follows an absolute `next` link to another origin and sends `Authorization: Bearer …` there;
 *    the Transport refuses to send the token off the configured origin;
 *  - its requests bypass the Transport's events, so `--debug` lines and the write counts the benchmark reads
 *    would need a second event source; its errors are plain `Error("HTTP 422: …")` needing re-mapping, and its
 *    types need a cast on every call under `@types/fhir` 0.0.44.
 * A wrapper fixing all of that would re-implement the Transport, so FHIR calls use `transport.json()` directly.
 */
import type * as fhir3 from 'fhir/r3.js';
import { parseHttpDate } from '../transport/http-date.js';
import type { Transport } from '../transport/index.js';
import { DpcError, isDpcError, restated } from '../errors.js';
import { isObject, kindOf } from '../json.js';
import { serverText } from '../transport/error-body.js';
import { serverUrlProblem } from '../transport/server-url.js';
import { mbiOf, npiOf, submitParameters } from './resources.js';
import { patientProblems, practitionerProblems } from './validate.js';

/** What the FHIR functions need from a DpcClient (createClient() returns one). */
export interface FhirClient {
  readonly transport: Transport;
  /** Epoch ms; tests pass the sandbox clock. */
  readonly now: () => number;
}

type Query = Record<string, string | number | boolean | undefined>;

export interface WriteOptions {
  /** X-Provenance header value (Group create/replace/`$add`). */
  provenance?: string;
  /** Safe to replay after a transient failure (e.g. `$submit`, `$add`: the server returns what exists). */
  idempotent?: boolean;
}

export async function fhirGet<T>(client: FhirClient, path: string, query?: Query): Promise<T> {
  return checkedResource<T>((await client.transport.json<unknown>({ path, query })).body, `GET ${path}`);
}

/**
 * Why a server's answer is not a FHIR resource the client can walk (undefined when it is): a JSON object with a
 * resourceType, a string `id` when it has one, and the lists the client walks (`LISTS`: a Bundle's entry and link, a
 * Group's member and characteristic) arrays of objects, a Bundle's resources resources. Deeper fields are the
 * reader's to check. Pure.
 */
export function resourceProblem(body: unknown): string | undefined {
  if (!isObject(body)) return `${kindOf(body)}, not a FHIR resource`;
  if (typeof body.resourceType !== 'string') return 'a JSON object without a resourceType';
  if (body.id !== undefined && typeof body.id !== 'string') return `a ${serverText(body.resourceType, 40)} whose id is ${kindOf(body.id)}`;
  const type = body.resourceType;
  for (const key of LISTS[type] ?? []) {
    const list = body[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return `a ${type} whose "${key}" is ${kindOf(list)}, not an array`;
    const bad = list.findIndex((item) => !isObject(item) || (key === 'entry' && item.resource !== undefined && resourceProblem(item.resource) !== undefined));
    if (bad >= 0) return `a ${type} whose ${key}[${bad}] is ${isObject(list[bad]) ? `not a resource (${resourceProblem(list[bad].resource)})` : kindOf(list[bad])}`;
  }
  return undefined;
}

/** The lists this client walks in a resource of each type: a search's pages, a roster's members and attribution. */
const LISTS: Record<string, readonly string[]> = { Bundle: ['entry', 'link'], Group: ['member', 'characteristic'] };

/**
 * `body` as the resource a caller expects (of type `expected` when given), or ERR_HTTP naming what the server sent
 * instead; an empty body passes.
 */
export function checkedResource<T>(body: unknown, request: string, expected?: string): T {
  const problem = body === undefined ? undefined : (resourceProblem(body) ?? typeProblem((body as fhir3.Resource).resourceType, expected));
  if (problem) throw new DpcError('ERR_HTTP', `${request} answered ${problem}`, { location: request });
  return body as T;
}

function typeProblem(resourceType: string, expected: string | undefined): string | undefined {
  return expected === undefined || resourceType === expected ? undefined : `a ${serverText(resourceType, 40)}, not a ${expected}`;
}

export async function fhirWrite<T>(
  client: FhirClient,
  method: 'POST' | 'PUT',
  path: string,
  body: unknown,
  options: WriteOptions = {},
): Promise<{ status: number; body: T }> {
  const response = await client.transport.json<unknown>({
    method,
    path,
    body: JSON.stringify(body),
    headers: options.provenance === undefined ? undefined : { 'X-Provenance': options.provenance },
    idempotent: options.idempotent,
  });
  return { status: response.status, body: checkedResource<T>(response.body, `${method} ${path}`) };
}

export async function fhirDelete(client: FhirClient, path: string): Promise<void> {
  await client.transport.text({ method: 'DELETE', path });
}

/**
 * Pages a search may take: a server whose `next` links never end must not make thousands of requests (DPC's firewall
 * blocks a client after ~300 in 5 minutes), and no real roster search comes near this.
 */
export const MAX_SEARCH_PAGES = 200;

/**
 * Every resource of a search, following `next` links (absolute URLs; the Transport keeps the token on our origin). A
 * `next` link that repeats an earlier page, or a chain longer than `maxPages`, is an error: the result would be wrong
 * or never come.
 */
export async function searchAll<T extends fhir3.Resource>(client: FhirClient, path: string, query?: Query, maxPages: number = MAX_SEARCH_PAGES): Promise<T[]> {
  return (await searchAllDated<T>(client, path, query, maxPages)).resources;
}

/**
 * searchAll, with the `Date` of the last page's response (epoch ms; absent when unusable): the server's clock when
 * it answered, for judging what it returned (attribution ends) as the server does.
 */
export async function searchAllDated<T extends fhir3.Resource>(
  client: FhirClient,
  path: string,
  query?: Query,
  maxPages: number = MAX_SEARCH_PAGES,
): Promise<{ resources: T[]; serverDate?: number }> {
  const resources: T[] = [];
  const seen = new Set<string>();
  let serverDate: number | undefined;
  let next: { path: string; query?: Query } | undefined = { path, query };
  for (let page = 1; next; page++) {
    const response = await client.transport.json<unknown>({ path: next.path, query: next.query });
    const bundle = checkedResource<fhir3.Bundle<T> | undefined>(response.body, `search ${path}: page ${page}`, 'Bundle');
    serverDate = parseHttpDate(response.headers.date);
    for (const entry of bundle?.entry ?? []) if (entry.resource) resources.push(entry.resource);
    const link: unknown = bundle?.link?.find((l) => l.relation === 'next')?.url;
    if (link === undefined) break;
    if (typeof link !== 'string' || serverUrlProblem(link, `${client.transport.baseUrl}/`) !== undefined) throw pagingError(path, page, 'its "next" link is not an http(s) URL');
    const key = client.transport.resolve(link).href;
    if (seen.has(key)) throw pagingError(path, page, 'its "next" link repeats an earlier page (a loop)');
    if (page >= maxPages) throw pagingError(path, page, `the search goes on past ${maxPages} pages`);
    seen.add(key);
    next = { path: link };
  }
  return { resources, serverDate };
}

function pagingError(path: string, page: number, why: string): DpcError {
  return new DpcError('ERR_HTTP', `search ${path}: page ${page}: ${why}; stopped following it`, { location: path });
}

/** POST a resource; the server answers 201 when it created it and 200 with the existing one (same NPI/MBI). */
export async function createResource<T extends fhir3.Resource>(client: FhirClient, resource: T): Promise<{ created: boolean; resource: T }> {
  const { status, body } = await fhirWrite<T>(client, 'POST', `/${resource.resourceType}`, resource, { idempotent: true });
  return { created: status === 201, resource: body };
}

/** `POST /<Type>/$submit` with a Parameters→Bundle; returns the created and already existing resources. */
export async function submitResources<T extends fhir3.Resource>(client: FhirClient, resourceType: T['resourceType'], resources: readonly T[]): Promise<T[]> {
  if (resources.length === 0) return [];
  try {
    const { body } = await fhirWrite<fhir3.Bundle<T>>(client, 'POST', `/${resourceType}/$submit`, submitParameters(resources), { idempotent: true });
    return (body?.entry ?? []).map((e) => e.resource).filter((r): r is T => r !== undefined);
  } catch (err) {
    throw isDpcError(err, 'ERR_UNPROCESSABLE') ? namingEntry(err, resources, client.now()) : err;
  }
}

/**
 * DPC rejects the whole bundle for one bad entry with that entry's validation messages but not its position (each
 * resource is validated on its own: dpc-api APIHelpers.bulkResourceClient), so the client's own profile checks find
 * the entry, named the way the user knows it.
 */
function namingEntry(err: DpcError, resources: readonly fhir3.Resource[], now: number): DpcError {
  const index = resources.findIndex((r) =>
    (r.resourceType === 'Patient' ? patientProblems(r as fhir3.Patient, now) : practitionerProblems(r as fhir3.Practitioner)).length > 0);
  const resource = resources[index];
  if (resource === undefined) return err;
  const key = resource.resourceType === 'Patient' ? `MBI ${mbiOf(resource as fhir3.Patient) ?? '?'}` : `NPI ${npiOf(resource as fhir3.Practitioner) ?? '?'}`;
  return restated(err, err.code, `${err.message} (bundle entry ${index + 1} of ${resources.length}, ${resource.resourceType} ${key})`, { details: err.details });
}

export async function readResource<T extends fhir3.Resource>(client: FhirClient, resourceType: T['resourceType'], id: string): Promise<T> {
  const path = `/${resourceType}/${encodeURIComponent(id)}`;
  return checkedResource<T>((await client.transport.json<unknown>({ path })).body, `GET ${path}`, resourceType);
}

export async function deleteResource(client: FhirClient, resourceType: string, id: string): Promise<void> {
  await fhirDelete(client, `/${resourceType}/${encodeURIComponent(id)}`);
}

/** A resource's server id, which every response of a create/read carries. */
export function idOf(resource: fhir3.Resource): string {
  if (!resource.id) throw new DpcError('ERR_HTTP', `the server returned a ${resource.resourceType} without an id`);
  return resource.id;
}
