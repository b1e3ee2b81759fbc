/** `/Token/auth`, `/Token/validate` and client-token management `/Token` (behaviour doc §1, §2). */
import { randomUUID } from 'node:crypto';
import type { App } from '../app.js';
import { formatInstant } from '../clock.js';
import { ACCESS_TOKEN_SECONDS, mintAccessToken, mintClientToken, YEAR_MS } from '../credentials.js';
import { ApiError, constraintViolations, parseJson, serverError, type Reply } from '../http.js';
import { checkNoHtml, noHtmlViolations } from '../no-html.js';
import { parseOffsetDateTime } from '../offset-date-time.js';
import { isRecord } from '../shape.js';
import { authenticateAssertion, validateAssertion } from '../jwt-auth.js';
import type { Route } from '../router.js';
import type { TokenRecord } from '../state.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Creates a client token record and its macaroon (used by POST /Token and by the admin API). */
export function issueClientToken(app: App, orgId: string, label?: string, expiresAt?: number): { record: TokenRecord; token: string } {
  // credentials live on the auth clock: a client token made after `clock advance` must not already be expired
  const now = app.authClock.now();
  const record: TokenRecord = {
    id: randomUUID(),
    orgId,
    label: label ?? `Token for organization ${orgId}.`,
    createdAt: now,
    expiresAt: expiresAt ?? now + YEAR_MS,
  };
  app.store.tokens.set(record.id, record);
  app.store.markDirty();
  return { record, token: mintClientToken(app.store.rootKey, record.id, orgId, now) };
}

function tokenEntity(record: TokenRecord) {
  return {
    id: record.id,
    tokenType: 'MACAROON',
    label: record.label,
    createdAt: formatInstant(record.createdAt),
    expiresAt: formatInstant(record.expiresAt),
  };
}

export function collection(entities: unknown[], now: number): Reply {
  return { status: 200, body: { entities, count: entities.length, created_at: formatInstant(now) } };
}

async function tokenAuth(app: App, body: Buffer): Promise<Reply> {
  const form = new URLSearchParams(body.toString('utf8'));
  const scope = form.get('scope') ?? '';
  const grantType = form.get('grant_type') ?? '';
  const assertionType = form.get('client_assertion_type') ?? '';
  const assertion = form.get('client_assertion') ?? '';
  // DPC: AbstractTokenResource.authorizeJWT — every form field is `@NoHtml @NotEmpty(message = ...)`, named argN
  const fields: Array<[string, string, string]> = [
    ['arg0', scope, 'Scope is required'],
    ['arg1', grantType, 'Grant type is required'],
    ['arg2', assertionType, 'Assertion type is required'],
    ['arg3', assertion, 'Assertion is required'],
  ];
  const errors = fields.flatMap(([name, value, required]) => {
    if (value === '') return [`${name} ${required}`];
    return noHtmlViolations([[name, value]]);
  });
  if (errors.length > 0) throw constraintViolations(400, errors);
  if (grantType !== 'client_credentials') throw new ApiError(400, "Grant Type must be 'client_credentials'");
  if (assertionType !== ASSERTION_TYPE) throw new ApiError(400, `Client Assertion Type must be '${ASSERTION_TYPE}'`);
  if (scope !== 'system/*.*') throw new ApiError(400, "Access Scope must be 'system/*.*'");
  const { clientToken } = await authenticateAssertion(app, assertion);
  const accessToken = mintAccessToken(app.store.rootKey, clientToken, app.authClock.now());
  return { status: 200, body: { access_token: accessToken, token_type: 'bearer', expires_in: ACCESS_TOKEN_SECONDS, scope: 'system/*.*' } };
}

/** An offset date-time as Java parses it (ISO_OFFSET_DATE_TIME, which also covers DPC's INSTANT_FORMATTER). */
function offsetDateTime(value: string): number | undefined {
  const parsed = parseOffsetDateTime(value);
  return 'epochMs' in parsed ? parsed.epochMs : undefined;
}

/**
 * DPC: R/TokenResource.java createOrganizationToken. Jersey resolves the parameters first: the JSON body, then
 * `?expiration` (Dropwizard's OffsetDateTimeParam throws a bare 400, which LoggingExceptionMapper words
 * "HTTP 400 Bad Request"); then bean validation (`@NoHtml` on `?label`, 400, and on the body's `label`, 422); then
 * the method: a non-empty body label wins over `?label`, the body's expiresAt over `?expiration`, and the
 * expiration must lie between now and the one-year policy.
 */
async function createToken(app: App, orgId: string, url: URL, body: Buffer): Promise<Reply> {
  // Jackson reads a JSON `null` as no CreateTokenRequest at all, like an empty body
  const json = (body.length > 0 ? parseJson(body, 'json') : null) ?? {};
  if (!isRecord(json)) throw new ApiError(400, 'Value could not be parsed as JSON', { text: true });
  let bodyExpiry: number | undefined;
  if (json.expiresAt !== undefined && json.expiresAt !== null) {
    // DPC: MultiFormatOffsetDateTimeDeserializer's exception ends wrapped by Jackson as a 500; the sandbox answers 400
    bodyExpiry = typeof json.expiresAt === 'string' ? offsetDateTime(json.expiresAt) : undefined;
    // a value that is no string is named as JSON (`{"at":1}`, not `[object Object]`)
    const shown = typeof json.expiresAt === 'string' ? json.expiresAt : JSON.stringify(json.expiresAt);
    if (bodyExpiry === undefined) throw new ApiError(400, `Could not parse date: ${shown}`);
  }
  const rawQueryExpiry = url.searchParams.get('expiration');
  const queryExpiry = rawQueryExpiry === null ? undefined : offsetDateTime(rawQueryExpiry);
  if (rawQueryExpiry !== null && queryExpiry === undefined) throw new ApiError(400, 'HTTP 400 Bad Request');
  const queryLabel = url.searchParams.get('label') ?? undefined;
  const bodyLabel = typeof json.label === 'string' ? json.label : undefined;
  checkNoHtml([['arg2', queryLabel]]);
  checkNoHtml([['label', bodyLabel]], 422);
  const now = app.authClock.now();
  const expiresAt = bodyExpiry ?? queryExpiry;
  if (expiresAt !== undefined) {
    if (expiresAt > now + YEAR_MS) throw new ApiError(400, 'Cannot set expiration after policy default');
    if (expiresAt < now) throw new ApiError(400, 'Cannot set expiration before current time');
  }
  const { record, token } = issueClientToken(app, orgId, bodyLabel || queryLabel, expiresAt);
  return { status: 200, body: { ...tokenEntity(record), token } };
}

function ownedToken(app: App, orgId: string, id: string): TokenRecord {
  const record = app.store.tokens.get(id);
  if (!record || record.orgId !== orgId) throw new ApiError(404, 'Cannot find token with matching ID');
  return record;
}

export const tokenRoutes: Route[] = [
  {
    methods: ['POST'], path: '/Token/auth', flavor: 'json', public: true, consumes: 'application/x-www-form-urlencoded',
    handler: async (ctx) => tokenAuth(ctx.app, await ctx.body()),
  },
  {
    methods: ['POST'], path: '/Token/validate', flavor: 'json', public: true, consumes: 'text/plain',
    handler: async (ctx) => {
      // DPC: AbstractTokenResource.validateJWT — the body is `@NoHtml @NotEmpty(message = "Must submit JWT")`, and
      // Dropwizard words a violation of a plain request body "The request body ..." (422)
      const jwt = (await ctx.body()).toString('utf8');
      if (jwt === '') throw constraintViolations(422, ['The request body Must submit JWT']);
      checkNoHtml([['The request body', jwt]], 422);
      validateAssertion(ctx.app, jwt.trim());
      return { status: 200 };
    },
  },
  {
    methods: ['GET'], path: '/Token', flavor: 'json',
    handler: (ctx) => collection(
      [...ctx.app.store.tokens.values()].filter((t) => t.orgId === ctx.orgId).map(tokenEntity), ctx.app.clock.now()),
  },
  {
    methods: ['POST'], path: '/Token', flavor: 'json',
    handler: async (ctx) => createToken(ctx.app, ctx.orgId, ctx.url, await ctx.body()),
  },
  {
    methods: ['GET'], path: '/Token/:id', flavor: 'json', uuidId: true,
    handler: (ctx) => ({ status: 200, body: tokenEntity(ownedToken(ctx.app, ctx.orgId, ctx.params.id!)) }),
  },
  {
    methods: ['DELETE'], path: '/Token/:id', flavor: 'json', uuidId: true,
    handler: (ctx) => {
      // DPC: R/TokenResource.java deleteOrganizationToken takes matchedToken.get(0) of an empty list for an unknown
      // (or another org's) id: IndexOutOfBoundsException, a plain 500 (its `assert` is off in production)
      const record = ctx.app.store.tokens.get(ctx.params.id!);
      if (!record || record.orgId !== ctx.orgId) throw serverError();
      ctx.app.store.tokens.delete(ctx.params.id!);
      ctx.app.store.markDirty();
      return { status: 204 };
    },
  },
];
