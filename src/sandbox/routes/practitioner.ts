/** `/Practitioner` (behaviour doc §4.2): create/existing, `$submit`, search by bare NPI, get, delete, `$validate`. */
import type * as fhir3 from 'fhir/r3.js';
import { randomUUID } from 'node:crypto';
import type { App } from '../app.js';
import { ApiError } from '../http.js';
import { practitionerNpi, practitionerViolations } from '../profiles.js';
import { NPI_SYSTEM } from '../../shared/identifiers.js';
import { checkNoHtml } from '../no-html.js';
import { ownedRecord } from '../path-authorizer.js';
import type { Route } from '../router.js';
import type { PractitionerRecord } from '../state.js';
import {
  bulkSubmit, collectionBundle, entityResource, fhirReply, readResource, searchset, submittedEntries, validateAll, validateOne,
  upsertReply, validateOperation,
} from './fhir.js';

/** DPC: ProviderEntityConverter.toFHIR — id, meta, the NPI and the name; no organization, no other element. */
export function practitionerResource(record: PractitionerRecord): fhir3.Practitioner {
  const identifier = { system: NPI_SYSTEM, value: record.npi };
  return entityResource<fhir3.Practitioner>('Practitioner', { id: record.id, lastUpdated: record.lastUpdated, identifier, names: record.resource.name });
}

/** Stores a validated Practitioner, or returns the org's existing one with the same NPI. */
export function upsertPractitioner(app: App, orgId: string, resource: fhir3.Practitioner): { record: PractitionerRecord; created: boolean } {
  const npi = practitionerNpi(resource);
  const existing = app.store.practitionersOf(orgId).find((p) => p.npi === npi);
  if (existing) return { record: existing, created: false };
  const { id: _ignoredId, meta: _ignoredMeta, ...rest } = resource;
  const record: PractitionerRecord = { id: randomUUID(), orgId, npi, resource: rest as fhir3.Practitioner, lastUpdated: app.clock.now() };
  app.store.practitioners.set(record.id, record);
  app.store.markDirty();
  return { record, created: true };
}

export function ownedPractitioner(app: App, orgId: string, id: string): PractitionerRecord {
  return ownedRecord(app.store.practitioners, 'Practitioner', orgId, id);
}

export const practitionerRoutes: Route[] = [
  {
    methods: ['POST'], path: '/Practitioner/$submit', flavor: 'fhir',
    handler: async (ctx) => {
      const entries = submittedEntries<fhir3.Practitioner>(await readResource(ctx), 'Practitioner');
      validateAll(entries, practitionerViolations);
      const stored = ctx.app.store.practitionersOf(ctx.orgId);
      const records = bulkSubmit(entries, practitionerNpi, stored, (p) => p.npi, (r) => upsertPractitioner(ctx.app, ctx.orgId, r).record);
      return fhirReply(200, collectionBundle(records.map(practitionerResource)));
    },
  },
  {
    methods: ['POST'], path: '/Practitioner/$validate', flavor: 'fhir',
    handler: async (ctx) => validateOperation(await readResource(ctx), practitionerViolations),
  },
  {
    methods: ['GET'], path: '/Practitioner', flavor: 'fhir',
    handler: (ctx) => {
      // DPC: R/PractitionerResource.java practitionerSearch — `identifier` is @NoHtml; an empty one filters nothing
      const npi = ctx.url.searchParams.get('identifier');
      checkNoHtml([['arg1', npi]]);
      const found = ctx.app.store.practitionersOf(ctx.orgId).filter((p) => !npi || p.npi === npi);
      return fhirReply(200, searchset(found.map(practitionerResource)));
    },
  },
  {
    methods: ['POST'], path: '/Practitioner', flavor: 'fhir',
    handler: async (ctx) => {
      const resource = await readResource(ctx);
      validateOne(resource, practitionerViolations);
      const upserted = upsertPractitioner(ctx.app, ctx.orgId, resource as unknown as fhir3.Practitioner);
      return upsertReply(ctx.app.baseUrl, 'Practitioner', upserted, practitionerResource(upserted.record));
    },
  },
  {
    methods: ['GET'], path: '/Practitioner/:id', flavor: 'fhir', pathAuthorizer: 'Practitioner',
    handler: (ctx) => fhirReply(200, practitionerResource(ownedPractitioner(ctx.app, ctx.orgId, ctx.params.id!))),
  },
  {
    methods: ['PUT'], path: '/Practitioner/:id', flavor: 'fhir', pathAuthorizer: 'Practitioner',
    handler: async (ctx) => {
      // DPC: R/PractitionerResource.java updateProvider — the body is read and `@Valid @Profiled` (400, 422) before the
      // method refuses every update
      validateOne(await readResource(ctx), practitionerViolations);
      throw new ApiError(501, 'Update Practitioner not yet implemented.');
    },
  },
  {
    methods: ['DELETE'], path: '/Practitioner/:id', flavor: 'fhir', pathAuthorizer: 'Practitioner',
    handler: (ctx) => {
      const record = ownedPractitioner(ctx.app, ctx.orgId, ctx.params.id!);
      const { store } = ctx.app;
      store.practitioners.delete(record.id);
      // Deleting a provider also deletes their roster.
      for (const group of store.groupsOf(ctx.orgId)) if (group.npi === record.npi) store.groups.delete(group.id);
      store.markDirty();
      return fhirReply(200, undefined);
    },
  },
];
