/** `/Organization` (the caller's own org only), `/metadata` and `/version` (behaviour doc §4.1, §7). */
import type * as fhir3 from 'fhir/r3.js';
import type { App } from '../app.js';
import { FHIR_JSON, unauthorized } from '../http.js';
import { NPI_SYSTEM } from '../../shared/identifiers.js';
import type { Ctx, Route } from '../router.js';
import { organizationNpi, organizationViolations } from '../profiles.js';
import { readSample } from '../samples.js';
import type { OrgRecord } from '../state.js';
import { VERSION } from '../version.js';
import { fhirReply, readResource, validateOne } from './fhir.js';


const IMPLEMENTATION_DESCRIPTION = 'As patients move throughout the healthcare system, providers often struggle to gain and maintain a complete picture of their medical history. Data at the Point of Care fills in the gaps with claims data to inform providers with secure, structured patient history, past procedures, medication adherence, and more.';

const DEFAULT_ADDRESS: fhir3.Address = { use: 'work', type: 'both', line: ['555 Test Address'], city: 'Washington', state: 'DC', postalCode: '20008', country: 'US' };

/**
 * DPC: converters/entities/AddressEntityConverter.java — AddressEntity keeps use, type, city, district, state,
 * postal code, country and two lines: the first, and the others joined by a space. Nothing else (no period, no text).
 */
function entityAddress(address: fhir3.Address): fhir3.Address {
  const [first, ...others] = address.line ?? [];
  const { use, type, city, district, state, postalCode, country } = address;
  return { use, type, line: [first ?? '', others.join(' ')], city, district, state, postalCode, country };
}

/** DPC: OrganizationEntityConverter.toFHIR — id, the NPI, the name, the one address and the contacts. */
function organizationResource(org: OrgRecord): fhir3.Organization {
  return {
    resourceType: 'Organization',
    id: org.id,
    identifier: [{ system: NPI_SYSTEM, value: org.npi }],
    name: org.name,
    address: [entityAddress(org.address ?? DEFAULT_ADDRESS)],
    ...(org.contact ? { contact: org.contact } : {}),
  };
}

/** The caller's own organization: the path authorizer has already refused any other id (401). */
function ownOrganization(ctx: Ctx): OrgRecord {
  return ctx.app.store.orgs.get(ctx.orgId)!;
}

/**
 * DPC: core/Capabilities.java buildCapabilities — the DPCCapabilities.json template with the build version, an
 * `implementation` naming the base URL and a `software` component. The sandbox also points the template's token
 * endpoint (a stale https://dpc.cms.gov URL on DPC) at its own /Token/auth, so SMART discovery finds it.
 */
function capabilities(app: App): fhir3.CapabilityStatement {
  const statement = readSample<fhir3.CapabilityStatement>('DPCCapabilities.json');
  statement.version = VERSION;
  statement.implementation = { description: IMPLEMENTATION_DESCRIPTION, url: app.baseUrl };
  statement.software = { ...statement.software, name: 'Data @ Point of Care API', version: VERSION };
  for (const rest of statement.rest ?? []) {
    for (const ext of rest.security?.extension ?? []) {
      for (const inner of ext.extension ?? []) if (inner.url === 'token') inner.valueUri = app.authUrl;
    }
  }
  return statement;
}

/** Never runs: `adminOnly` routes are refused by the auth filter (Router's Route.adminOnly). */
function adminOperation(): never {
  throw unauthorized();
}

export const organizationRoutes: Route[] = [
  // DPC: R/OrganizationResource.java submitOrganization and deleteOrganization, R/AdminResource.java getOrganizations
  { methods: ['POST'], path: '/Organization/$submit', flavor: 'fhir', adminOnly: true, handler: adminOperation },
  { methods: ['DELETE'], path: '/Organization/:id', flavor: 'fhir', adminOnly: true, handler: adminOperation },
  { methods: ['GET'], path: '/Admin/Organization', flavor: 'fhir', adminOnly: true, handler: adminOperation },
  {
    methods: ['GET'], path: '/Organization', flavor: 'fhir',
    handler: (ctx) => {
      const org = ctx.app.store.orgs.get(ctx.orgId)!;
      const bundle: fhir3.Bundle = { resourceType: 'Bundle', type: 'collection', total: 1, entry: [{ resource: organizationResource(org) }] };
      return fhirReply(200, bundle);
    },
  },
  {
    methods: ['GET'], path: '/Organization/:id', flavor: 'fhir', pathAuthorizer: 'Organization',
    handler: (ctx) => fhirReply(200, organizationResource(ownOrganization(ctx))),
  },
  {
    methods: ['PUT'], path: '/Organization/:id', flavor: 'fhir', pathAuthorizer: 'Organization',
    handler: async (ctx) => {
      const org = ownOrganization(ctx);
      const resource = await readResource(ctx);
      // DPC: R/OrganizationResource.java updateOrganization — @Profiled (422 per violation), then
      // OrganizationEntity.update replaces the NPI, name, address and contacts
      validateOne(resource, organizationViolations);
      const update = resource as unknown as fhir3.Organization;
      org.npi = organizationNpi(update) ?? org.npi;
      org.name = update.name ?? '';
      org.address = update.address![0]!;
      if (update.contact) org.contact = update.contact;
      else delete org.contact;
      ctx.app.store.markDirty();
      return fhirReply(200, organizationResource(org));
    },
  },
  {
    // DPC: R/BaseResource.java metadata is not @FHIR (no FHIRRequestFilter) but inherits @Produces("application/fhir+json"):
    // another Accept is Jersey's plain 406
    methods: ['GET'], path: '/metadata', flavor: 'json', public: true, produces: [FHIR_JSON],
    handler: (ctx) => fhirReply(200, capabilities(ctx.app)),
  },
  {
    methods: ['GET'], path: '/version', flavor: 'json', public: true, produces: ['text/plain'],
    handler: () => ({ status: 200, body: VERSION, contentType: 'text/plain' }),
  },
];
