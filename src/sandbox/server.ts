/**
 * The request pipeline: X-Request-Id, throttle faults, routing, JSON content negotiation, the auth filter (with the
 * path authorizer), FHIR media-type checks, the handler, error rendering, and a state snapshot after every mutating request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ADMIN_PREFIX } from './admin-contract.js';
import type { App } from './app.js';
import { ApiError, errorReply, JSON_TYPE, jerseyNotFound, readBody, send, serverError, unauthorized, type Flavor } from './http.js';
import { verifyAccessToken } from './credentials.js';
import { isUuid } from '../shared/identifiers.js';
import { checkConsumes, checkFhirHeaders, checkProduces } from './negotiation.js';
import { fireFault } from './faults.js';
import { authorizePath } from './path-authorizer.js';
import type { Ctx, Router } from './router.js';

export const API_PREFIX = '/api/v1';

export function createListener(app: App, api: Router, admin: Router) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    res.setHeader('X-Request-Id', randomUUID());
    // a server's Date is its own clock (RFC 9110 §6.6.1), and the sandbox's is the one `/__admin/clock` moves: clients
    // judge transactionTime and attribution ends by it (Node would send the real time)
    res.setHeader('Date', new Date(app.clock.now()).toUTCString());
    handle(app, api, admin, req, res).catch(() => {
      send(res, errorReply(serverError(), 'json'));
    });
  };
}

async function handle(app: App, api: Router, admin: Router, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
  const method = req.method ?? 'GET';
  // Clients may percent-encode `$` in operation names (`%24export`).
  const pathname = url.pathname.replace(/%24/gi, '$');
  const isApi = pathname === API_PREFIX || pathname.startsWith(`${API_PREFIX}/`);
  const router = isApi ? api : admin;
  // Jersey's resource method templates end in an optional `/`: `/Patient/` is `/Patient`
  const path = isApi ? pathname.slice(API_PREFIX.length).replace(/(.)\/$/, '$1') : pathname;
  let flavor: Flavor = 'json';
  try {
    if (isApi && throttled(app, res, pathname)) return;
    if (!isApi && !path.startsWith(`${ADMIN_PREFIX}/`)) throw jerseyNotFound();
    const { route, params, allowed } = router.match(method, path);
    if (!route && allowed.length === 0) throw jerseyNotFound();
    // Jersey's 405 names the methods the resource takes (RFC 9110 §15.5.6)
    if (!route) throw new ApiError(405, 'HTTP 405 Method Not Allowed', { headers: { Allow: allowed.join(',') } });
    flavor = route.flavor;
    let bodyPromise: Promise<Buffer> | undefined;
    const ctx: Ctx = { app, req, res, url, params, orgId: '', body: () => (bodyPromise ??= readBody(req)) };
    // Jersey's order: JSON resources declare @Consumes/@Produces, which method matching checks (415, then 406) before
    // any filter runs; the auth filter (Priorities.AUTHENTICATION, with the @PathAuthorizer lookup) then runs before
    // FHIRRequestFilter (default priority USER), which FHIR resources get instead of @Produces
    // (dpc-common fhir/dropwizard/features/FHIRRequestFeature.java, dpc-api auth/filters/PathAuthorizationFilter.java).
    if (route.flavor === 'json') {
      const bodyPresent = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
      if (bodyPresent) checkConsumes(req.headers['content-type'], route.consumes ?? JSON_TYPE);
      checkProduces(req.headers.accept, route.produces ?? [JSON_TYPE]);
    }
    if (isApi && route.adminOnly) throw unauthorized();
    if (isApi && !route.public) ctx.orgId = authenticate(app, req, url);
    if (route.pathAuthorizer) authorizePath(app.store, route.pathAuthorizer, ctx.orgId, params.id!);
    if (route.flavor === 'fhir') checkFhirHeaders(req.headers.accept, req.headers['content-type'], pathname.includes('$export'));
    if (route.uuidId && !isUuid(params.id!)) throw jerseyNotFound();
    const reply = await route.handler(ctx);
    if (reply) send(res, reply, req.headers['accept-encoding']);
  } catch (error) {
    send(res, errorReply(error instanceof ApiError ? error : serverError(), flavor), req.headers['accept-encoding']);
  } finally {
    app.store.saveIfDirty();
  }
}

/** Bearer header (case-insensitive scheme) or `?token=`; returns the caller's organization id. */
function authenticate(app: App, req: IncomingMessage, url: URL): string {
  const header = req.headers.authorization;
  const token = header !== undefined ? /^bearer\s+(.+)$/i.exec(header.trim())?.[1] : url.searchParams.get('token') ?? undefined;
  const claims = token ? verifyAccessToken(app.store.rootKey, token, app.authClock.now()) : undefined;
  const record = claims && app.store.tokens.get(claims.tokenId);
  if (!claims || !record || record.orgId !== claims.orgId || !app.store.orgs.has(claims.orgId)) {
    throw unauthorized();
  }
  return claims.orgId;
}

/** SandboxFaults.throttle: answer the next `count` matching API requests with the fault's status. */
function throttled(app: App, res: ServerResponse, path: string): boolean {
  const fault = fireFault(app.faults(), 'throttle', (f) => f.pathIncludes === undefined || path.includes(f.pathIncludes));
  if (!fault) return false;
  const seconds = fault.retryAfterSeconds ?? 1;
  const headers: Record<string, string> = {};
  if (fault.retryAfter === 'http-date') headers['Retry-After'] = new Date(Date.now() + seconds * 1000).toUTCString();
  else if (fault.retryAfter !== 'none') headers['Retry-After'] = String(seconds);
  send(res, { status: fault.status, body: { code: fault.status, message: `Sandbox fault: HTTP ${fault.status}` }, headers });
  return true;
}
