/**
 * `/Group` attribution rosters (behaviour doc §5): X-Provenance on writes, one roster per NPI per org,
 * `$add` / `$remove`, PUT replace, roster limit, search, and expiry computed on read from the clock.
 */
import type * as fhir3 from 'fhir/r3.js';
import { randomUUID } from 'node:crypto';
import type { App } from '../app.js';
import { ApiError } from '../http.js';
import { NPI_SYSTEM } from '../../shared/identifiers.js';
import { verifyProvenance } from '../provenance.js';
import { addMembers, freshMembers, removeMembers, rosterSizeAfterAdd, visibleMembers } from '../roster.js';
import { checkNoHtml } from '../no-html.js';
import { ownedRecord } from '../path-authorizer.js';
import type { Ctx, Route } from '../router.js';
import type { GroupRecord } from '../state.js';
import { record, records, text } from '../shape.js';
import { fhirReply, readResource, searchset } from './fhir.js';

export function groupResource(group: GroupRecord, now: number): fhir3.Group {
  return {
    resourceType: 'Group',
    id: group.id,
    type: 'person',
    actual: true,
    characteristic: [{
      code: { coding: [{ code: 'attributed-to' }] },
      valueCodeableConcept: { coding: [{ system: NPI_SYSTEM, code: group.npi }] },
      exclude: false,
    }],
    member: visibleMembers(group.members, now).map((m) => ({
      entity: { reference: `Patient/${m.patientId}` },
      period: { start: new Date(m.start).toISOString(), end: new Date(m.end).toISOString() },
      inactive: m.inactive,
    })),
  };
}

/** The attributed-to NPI of a request Group. */
function attributedNpi(group: Record<string, unknown>): string {
  for (const c of records(group.characteristic)) {
    if (!records(record(c.code).coding).some((coding) => coding.code === 'attributed-to')) continue;
    const npi = text(records(record(c.valueCodeableConcept).coding).find((coding) => coding.system === NPI_SYSTEM)?.code);
    if (npi) return npi;
  }
  throw new ApiError(400, `Group must have an attributed-to characteristic with a ${NPI_SYSTEM} coding`);
}

/** Patient ids referenced by the body's members (`Patient/<id>`), optionally skipping those flagged inactive. */
function memberRefs(group: Record<string, unknown>, skipInactive = false): string[] {
  return records(group.member)
    .filter((m) => !(skipInactive && m.inactive === true))
    .map((m) => (text(record(m.entity).reference) ?? '').replace(/^Patient\//, ''));
}

/** Member patient ids; all must be patients of the org. */
function memberIds(app: App, orgId: string, group: Record<string, unknown>, skipInactive: boolean): string[] {
  const unique = [...new Set(memberRefs(group, skipInactive))];
  const missing = unique.filter((id) => app.store.patients.get(id)?.orgId !== orgId).length;
  if (missing > 0) throw new ApiError(400, `All patients in group must exist. Cannot find ${missing} patient(s).`);
  return unique;
}

async function readGroup(ctx: Ctx): Promise<Record<string, unknown>> {
  const body = await readResource(ctx);
  if (body.resourceType !== 'Group') throw new ApiError(400, 'Request body must be a Group resource');
  return body;
}

/**
 * X-Provenance: the attestation, and the practitioner it acts on behalf of must carry the body's attributed NPI
 * (DPC: R/GroupResource.java verifyHeader). The practitioner is looked up by id alone, as DPC's API asks attribution
 * for it; only POST then ties the NPI to the org (`checkProvider`).
 */
function checkAttestation(ctx: Ctx, npi: string): void {
  verifyProvenance(ctx.req.headers['x-provenance'], npi, (id) => ctx.app.store.practitioners.get(id));
}

/** DPC: attribution R/GroupResource.java createRoster — the attributed NPI must be a practitioner of the org. */
function checkProvider(ctx: Ctx, npi: string): void {
  if (!ctx.app.store.practitionersOf(ctx.orgId).some((p) => p.npi === npi)) throw new ApiError(404, 'Unable to find attributable provider');
}

/** DPC: attribution AbstractGroupResource.rosterSizeTooBig, the first check of every roster write. */
function checkLimit(app: App, size: number): void {
  if (size > app.patientLimit) throw new ApiError(400, 'Roster limit reached');
}

/** Distinct members of a request body, those flagged inactive too (rosterSizeTooBig counts every reference). */
function bodySize(group: Record<string, unknown>): number {
  return new Set(memberRefs(group)).size;
}

export function ownedGroup(app: App, orgId: string, id: string): GroupRecord {
  return ownedRecord(app.store.groups, 'Group', orgId, id);
}

/**
 * `characteristic-value=attributed-to$<NPI>`. DPC: attribution R/GroupResource.java parseCompositeID needs exactly one
 * `$` (anything else is an IllegalArgumentException, a 500 there, 400 here) and reads only the part after it, which may
 * be `system|NPI` (FHIRExtractors.parseTag splits at the first `|`); the part before it is not looked at.
 */
function npiFromCharacteristic(value: string): string {
  const parts = value.split('$');
  if (parts.length !== 2) throw new ApiError(400, "characteristic-value must be 'attributed-to$<NPI>'");
  const npi = parts[1]!;
  return npi.includes('|') ? npi.slice(npi.indexOf('|') + 1) : npi;
}

function save(app: App, group: GroupRecord) {
  app.store.groups.set(group.id, group);
  app.store.markDirty();
  return groupResource(group, app.clock.now());
}

export const groupRoutes: Route[] = [
  {
    methods: ['GET'], path: '/Group', flavor: 'fhir',
    handler: (ctx) => {
      // DPC: R/GroupResource.java rosterSearch — both parameters are @NoHtml
      const characteristic = ctx.url.searchParams.get('characteristic-value');
      const memberParam = ctx.url.searchParams.get('member');
      checkNoHtml([['arg1', characteristic], ['arg2', memberParam]]);
      const npi = characteristic === null ? undefined : npiFromCharacteristic(characteristic);
      const member = memberParam?.replace(/^Patient\//, '');
      const now = ctx.app.clock.now();
      const found = ctx.app.store.groupsOf(ctx.orgId)
        .filter((g) => npi === undefined || g.npi === npi)
        .filter((g) => member === undefined || visibleMembers(g.members, now).some((m) => m.patientId === member));
      return fhirReply(200, searchset(found.map((g) => groupResource(g, now))));
    },
  },
  {
    methods: ['POST'], path: '/Group', flavor: 'fhir',
    handler: async (ctx) => {
      const body = await readGroup(ctx);
      const npi = attributedNpi(body);
      checkAttestation(ctx, npi);
      // DPC: attribution createRoster — the size, the provider (404), one roster per provider (403), then the members
      checkLimit(ctx.app, bodySize(body));
      checkProvider(ctx, npi);
      if (ctx.app.store.groupsOf(ctx.orgId).some((g) => g.npi === npi)) {
        throw new ApiError(403, 'Could not create a roster for this provider as they already have one.  Try updating it instead, or first deleting it.');
      }
      const ids = memberIds(ctx.app, ctx.orgId, body, true);
      const now = ctx.app.clock.now();
      const group: GroupRecord = { id: randomUUID(), orgId: ctx.orgId, npi, members: freshMembers(ids, now), createdAt: now };
      return fhirReply(201, save(ctx.app, group), { Location: `${ctx.app.baseUrl}/Group/${group.id}` });
    },
  },
  {
    methods: ['POST'], path: '/Group/:id/$add', flavor: 'fhir', pathAuthorizer: 'Group',
    handler: async (ctx) => {
      const body = await readGroup(ctx);
      // Look the group up after the body has arrived, so concurrent writes to it are not lost.
      const group = ownedGroup(ctx.app, ctx.orgId, ctx.params.id!);
      checkAttestation(ctx, attributedNpi(body));
      // DPC: attribution addRosterMembers — the size (existing roster and body) before the members are looked up
      checkLimit(ctx.app, rosterSizeAfterAdd(group.members, memberRefs(body)));
      const ids = memberIds(ctx.app, ctx.orgId, body, false);
      return fhirReply(200, save(ctx.app, { ...group, members: addMembers(group.members, ids, ctx.app.clock.now()) }));
    },
  },
  {
    methods: ['POST'], path: '/Group/:id/$remove', flavor: 'fhir', pathAuthorizer: 'Group',
    handler: async (ctx) => {
      const body = await readGroup(ctx);
      const group = ownedGroup(ctx.app, ctx.orgId, ctx.params.id!);
      const members = removeMembers(group.members, memberRefs(body), ctx.app.clock.now());
      if (!members) throw new ApiError(400, 'Cannot find attribution relationship.');
      return fhirReply(200, save(ctx.app, { ...group, members }));
    },
  },
  {
    methods: ['GET'], path: '/Group/:id', flavor: 'fhir', pathAuthorizer: 'Group',
    handler: (ctx) => fhirReply(200, groupResource(ownedGroup(ctx.app, ctx.orgId, ctx.params.id!), ctx.app.clock.now())),
  },
  {
    methods: ['PUT'], path: '/Group/:id', flavor: 'fhir', pathAuthorizer: 'Group',
    handler: async (ctx) => {
      const body = await readGroup(ctx);
      const group = ownedGroup(ctx.app, ctx.orgId, ctx.params.id!);
      checkAttestation(ctx, attributedNpi(body));
      // DPC: attribution replaceRoster — the size, then the members; it replaces the relationships only, so the
      // roster keeps its practitioner whatever NPI the body names (the attestation must match the body's)
      checkLimit(ctx.app, bodySize(body));
      const ids = memberIds(ctx.app, ctx.orgId, body, false);
      return fhirReply(200, save(ctx.app, { ...group, members: freshMembers(ids, ctx.app.clock.now()) }));
    },
  },
  {
    methods: ['DELETE'], path: '/Group/:id', flavor: 'fhir', pathAuthorizer: 'Group',
    handler: (ctx) => {
      ownedGroup(ctx.app, ctx.orgId, ctx.params.id!);
      ctx.app.store.groups.delete(ctx.params.id!);
      ctx.app.store.markDirty();
      return fhirReply(200, undefined);
    },
  },
];
