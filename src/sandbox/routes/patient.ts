/** `/Patient` (behaviour doc §4.3): create/existing by MBI, `$submit`, search by MBI with paging, get, put, delete, `$validate`. */
import type * as fhir3 from 'fhir/r3.js';
import { randomUUID } from 'node:crypto';
import type { App } from '../app.js';
import { ApiError, jerseyNotFound } from '../http.js';
import { MBI_SYSTEM } from '../../shared/identifiers.js';
import { patientMbi, patientViolations } from '../profiles.js';
import { checkNoHtml } from '../no-html.js';
import { ownedRecord } from '../path-authorizer.js';
import type { Route } from '../router.js';
import type { PatientRecord } from '../state.js';
import {
  bulkSubmit, collectionBundle, entityResource, fhirReply, readResource, searchset, submittedEntries, validateAll, validateOne,
  upsertReply, validateOperation,
} from './fhir.js';

/**
 * DPC: PatientEntityConverter.toFHIR — id, meta, the name, gender, birth date, the one MBI and the managing
 * organization; nothing else of the submitted resource.
 */
export function patientResource(record: PatientRecord): fhir3.Patient {
  const { name, gender, birthDate } = record.resource;
  const identifier = { system: MBI_SYSTEM, value: record.mbi };
  return entityResource<fhir3.Patient>('Patient', { id: record.id, lastUpdated: record.lastUpdated, identifier, names: name }, {
    ...(gender ? { gender } : {}),
    ...(birthDate ? { birthDate } : {}),
    managingOrganization: { reference: `Organization/${record.orgId}` },
  });
}

/** A Patient's MBI as the store keeps it and matches it: upper-cased. */
function storedMbi(resource: fhir3.Patient): string {
  return (patientMbi(resource) ?? '').toUpperCase();
}

/** Stores a validated Patient, or returns the org's existing one with the same MBI. */
export function upsertPatient(app: App, orgId: string, resource: fhir3.Patient): { record: PatientRecord; created: boolean } {
  const mbi = storedMbi(resource);
  const existing = app.store.patientsOf(orgId).find((p) => p.mbi === mbi);
  if (existing) return { record: existing, created: false };
  // the MBI is kept upper-cased in the record; of the resource only what PatientEntity holds is ever shown
  const { id: _ignoredId, meta: _ignoredMeta, ...rest } = resource;
  const record: PatientRecord = { id: randomUUID(), orgId, mbi, resource: rest as fhir3.Patient, lastUpdated: app.clock.now() };
  app.store.patients.set(record.id, record);
  app.store.markDirty();
  return { record, created: true };
}

export function ownedPatient(app: App, orgId: string, id: string): PatientRecord {
  return ownedRecord(app.store.patients, 'Patient', orgId, id);
}

/**
 * `identifier` search value: a bare MBI, or `<system>|<MBI>` whose system must be us-mbi. DPC: R/PatientResource.java
 * IDENTIFIER_PATTERN is case-sensitive: `HTTP://…|x` is no system but a bare value, which matches no MBI.
 */
function mbiFilter(value: string): string {
  if (!/^[a-z0-9]+:\/\/.*$/.test(value)) return value.toUpperCase();
  const bar = value.lastIndexOf('|');
  if (bar < 0 || value.slice(0, bar) !== MBI_SYSTEM) throw new ApiError(400, 'Must have MBI identifier');
  return value.slice(bar + 1).toUpperCase();
}

/**
 * An `Integer` query parameter as Jersey converts it: empty is absent, and what Integer.valueOf refuses (not a number,
 * out of int range) fails the conversion, which JAX-RS answers with a 404 for query parameters.
 */
function queryInteger(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < -(2 ** 31) || n > 2 ** 31 - 1) throw jerseyNotFound();
  return n;
}

/** Pages a search result like DPC's PagingService: no total when paged, absolute links without the filter. */
export function pagedBundle(baseUrl: string, all: readonly fhir3.Resource[], count: number | undefined, offset: number): fhir3.Bundle {
  if (count === undefined) return searchset(all);
  if (count === 0) return { resourceType: 'Bundle', type: 'searchset', total: all.length };
  const link = (relation: string, at: number) => ({ relation, url: `${baseUrl}/Patient?_count=${count}&_offset=${at}` });
  const links = [link('self', offset), link('first', 0)];
  if (offset >= count) links.push(link('prev', offset - count));
  if (offset + count < all.length) links.push(link('next', offset + count));
  const page = all.slice(offset, offset + count);
  return { resourceType: 'Bundle', type: 'searchset', link: links, entry: page.map((resource) => ({ resource })) };
}

export const patientRoutes: Route[] = [
  {
    methods: ['POST'], path: '/Patient/$submit', flavor: 'fhir',
    handler: async (ctx) => {
      const entries = submittedEntries<fhir3.Patient>(await readResource(ctx), 'Patient');
      validateAll(entries, patientViolations);
      const stored = ctx.app.store.patientsOf(ctx.orgId);
      const records = bulkSubmit(entries, storedMbi, stored, (p) => p.mbi, (r) => upsertPatient(ctx.app, ctx.orgId, r).record);
      return fhirReply(200, collectionBundle(records.map(patientResource)));
    },
  },
  {
    methods: ['POST'], path: '/Patient/$validate', flavor: 'fhir',
    handler: async (ctx) => validateOperation(await readResource(ctx), patientViolations),
  },
  {
    methods: ['GET'], path: '/Patient', flavor: 'fhir',
    handler: (ctx) => {
      // DPC: R/PatientResource.java patientSearch — the Integer parameters convert first, then `identifier` is
      // @NoHtml, then the method refuses negative paging values and treats an empty identifier as none
      const params = ctx.url.searchParams;
      const count = queryInteger(params.get('_count'));
      const offset = queryInteger(params.get('_offset')) ?? 0;
      const identifier = params.get('identifier');
      checkNoHtml([['arg1', identifier]]);
      if (count !== undefined && count < 0) throw new ApiError(400, 'Parameter _count must be >= 0');
      if (offset < 0) throw new ApiError(400, 'Parameter _offset must be >= 0');
      const mbi = identifier ? mbiFilter(identifier) : undefined;
      const found = ctx.app.store.patientsOf(ctx.orgId).filter((p) => mbi === undefined || p.mbi === mbi);
      return fhirReply(200, pagedBundle(ctx.app.baseUrl, found.map(patientResource), count, offset));
    },
  },
  {
    methods: ['POST'], path: '/Patient', flavor: 'fhir',
    handler: async (ctx) => {
      const resource = await readResource(ctx);
      validateOne(resource, patientViolations);
      const upserted = upsertPatient(ctx.app, ctx.orgId, resource as unknown as fhir3.Patient);
      return upsertReply(ctx.app.baseUrl, 'Patient', upserted, patientResource(upserted.record));
    },
  },
  {
    methods: ['GET'], path: '/Patient/:id', flavor: 'fhir', pathAuthorizer: 'Patient',
    handler: (ctx) => fhirReply(200, patientResource(ownedPatient(ctx.app, ctx.orgId, ctx.params.id!))),
  },
  {
    methods: ['PUT'], path: '/Patient/:id', flavor: 'fhir', pathAuthorizer: 'Patient',
    handler: async (ctx) => {
      const record = ownedPatient(ctx.app, ctx.orgId, ctx.params.id!);
      const resource = await readResource(ctx);
      validateOne(resource, patientViolations);
      // PatientEntity.update changes only names, birth date and gender.
      const update = resource as unknown as fhir3.Patient;
      record.resource = { ...record.resource, name: update.name, birthDate: update.birthDate, gender: update.gender };
      record.lastUpdated = ctx.app.clock.now();
      ctx.app.store.markDirty();
      return fhirReply(200, patientResource(record));
    },
  },
  {
    methods: ['DELETE'], path: '/Patient/:id', flavor: 'fhir', pathAuthorizer: 'Patient',
    handler: (ctx) => {
      const record = ownedPatient(ctx.app, ctx.orgId, ctx.params.id!);
      const { store } = ctx.app;
      store.patients.delete(record.id);
      for (const group of store.groupsOf(ctx.orgId)) group.members = group.members.filter((m) => m.patientId !== record.id);
      store.markDirty();
      return fhirReply(200, undefined);
    },
  },
];
