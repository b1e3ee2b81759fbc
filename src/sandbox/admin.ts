/**
 * The DPC portal's role, in-process and over HTTP under `/__admin` (outside the API path): create an
 * organization with its first client token, register a public key. In test mode also the clock and faults.
 */
import { randomUUID } from 'node:crypto';
import type { App } from './app.js';
import { ADMIN_ROUTES, type ClockResponse, type CreateOrganizationResponse, type RegisterKeyResponse } from './admin-contract.js';
import type { SandboxFaults } from './export/contract.js';
import { ApiError, parseJson } from './http.js';
import { isRecord } from './shape.js';
import { faultProblems } from './faults.js';
import { isValidNpi } from '../shared/identifiers.js';
import type { Route } from './router.js';
import { storeKey } from './routes/key.js';
import { issueClientToken } from './routes/token.js';

export interface AdminApi {
  createOrganization(opts?: { npi?: string; name?: string }): CreateOrganizationResponse;
  registerKey(orgId: string, publicKeyPem: string, label?: string): { keyId: string };
}

/** A random valid NPI (Luhn with the 80840 prefix) so every created org is distinct. */
function randomNpi(): string {
  for (;;) {
    const candidate = `1${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    if (isValidNpi(candidate)) return candidate;
  }
}

export function createAdminApi(app: App): AdminApi {
  return {
    createOrganization(opts = {}) {
      const npi = opts.npi ?? randomNpi();
      if (!isValidNpi(npi)) throw new ApiError(400, `Invalid organization NPI: ${npi}`);
      const orgId = randomUUID();
      app.store.orgs.set(orgId, { id: orgId, npi, name: opts.name ?? `Sandbox Organization ${npi}`, createdAt: app.clock.now() });
      app.store.markDirty();
      const { token } = issueClientToken(app, orgId);
      app.store.saveIfDirty();
      return { orgId, clientToken: token };
    },
    registerKey(orgId, publicKeyPem, label) {
      if (!app.store.orgs.has(orgId)) throw new ApiError(404, `Cannot find organization ${orgId}`);
      const record = storeKey(app, orgId, publicKeyPem, label);
      app.store.saveIfDirty();
      return { keyId: record.id };
    },
  };
}

function testModeOnly(app: App): void {
  if (!app.testMode) throw new ApiError(404, 'Test-mode admin endpoints are disabled (start the sandbox with testMode)');
}

/** Pure: why a clock request is not exactly one of `{advanceMs}`, `{set}` (finite epoch ms) or `{reset: true}`. */
function clockProblem(body: Record<string, unknown>): string | undefined {
  const usage = 'Request body must be {"advanceMs": ms}, {"set": epochMs} or {"reset": true}';
  const keys = Object.keys(body);
  if (keys.length !== 1) return usage;
  const value = body[keys[0]!];
  if (keys[0] === 'reset') return value === true ? undefined : usage;
  if (keys[0] !== 'advanceMs' && keys[0] !== 'set') return usage;
  return typeof value === 'number' && Number.isFinite(value) ? undefined : `${keys[0]}: expected a finite number of ms`;
}

async function jsonBody(body: Promise<Buffer>): Promise<Record<string, unknown>> {
  const buffer = await body;
  const value = buffer.length > 0 ? parseJson(buffer, 'json') : {};
  if (!isRecord(value)) throw new ApiError(400, 'Request body must be a JSON object');
  return value;
}

export function adminRoutes(admin: AdminApi, setFaults: (f: SandboxFaults) => void): Route[] {
  return [
    {
      methods: ['POST'], path: ADMIN_ROUTES.organizations, flavor: 'json', public: true,
      handler: async (ctx) => {
        const body = await jsonBody(ctx.body());
        const npi = typeof body.npi === 'string' ? body.npi : undefined;
        const name = typeof body.name === 'string' ? body.name : undefined;
        return { status: 201, body: admin.createOrganization({ npi, name }) };
      },
    },
    {
      methods: ['POST'], path: ADMIN_ROUTES.organizationKeys, flavor: 'json', public: true,
      handler: async (ctx) => {
        const body = await jsonBody(ctx.body());
        if (typeof body.key !== 'string') throw new ApiError(400, 'Request body must have `key` (SPKI PEM)');
        const label = typeof body.label === 'string' ? body.label : undefined;
        return { status: 201, body: { id: admin.registerKey(ctx.params.orgId!, body.key, label).keyId } satisfies RegisterKeyResponse };
      },
    },
    {
      methods: ['GET', 'POST'], path: ADMIN_ROUTES.clock, flavor: 'json', public: true,
      handler: async (ctx) => {
        testModeOnly(ctx.app);
        if (ctx.req.method === 'POST') {
          const body = await jsonBody(ctx.body());
          const problem = clockProblem(body);
          if (problem) throw new ApiError(400, problem);
          if (typeof body.advanceMs === 'number') ctx.app.clock.advance(body.advanceMs);
          else if (typeof body.set === 'number') ctx.app.clock.set(body.set);
          else ctx.app.clock.set(Date.now());
        }
        const now = ctx.app.clock.now();
        return { status: 200, body: { now, iso: new Date(now).toISOString() } satisfies ClockResponse };
      },
    },
    {
      methods: ['GET', 'POST', 'DELETE'], path: ADMIN_ROUTES.faults, flavor: 'json', public: true,
      handler: async (ctx) => {
        testModeOnly(ctx.app);
        if (ctx.req.method === 'GET') return { status: 200, body: ctx.app.faults() };
        const body = ctx.req.method === 'POST' ? await jsonBody(ctx.body()) : {};
        const problems = faultProblems(body);
        if (problems.length > 0) throw new ApiError(400, `Invalid fault request: ${problems.join('; ')}`);
        setFaults(body as SandboxFaults);
        return { status: 200, body: ctx.app.faults() };
      },
    },
  ];
}
