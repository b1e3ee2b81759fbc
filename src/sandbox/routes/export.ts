/**
 * Bulk export routing (behaviour doc §6): kick-off validation on `GET /Group/{id}/$export`, then the export
 * engine (src/sandbox/export) owns the job; `/Jobs/{id}` maps its status, `/Data/{file}` is served by it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExportResourceType, KickoffRequest } from '../export/contract.js';
import { isUuid } from '../../shared/identifiers.js';
import { ApiError, jerseyNotFound, serverError, type Reply } from '../http.js';
import { checkNoHtml } from '../no-html.js';
import { parseOffsetDateTime } from '../offset-date-time.js';
import { activeMembers } from '../roster.js';
import type { Ctx, Route } from '../router.js';
import { ownedGroup } from './group.js';

const OUTPUT_FORMATS = ['application/fhir+ndjson', 'application/ndjson', 'ndjson'];
export const RESOURCE_TYPES: readonly ExportResourceType[] = ['Patient', 'ExplanationOfBenefit', 'Coverage'];

export function parseOutputFormat(value: string | null): void {
  // DPC: AbstractResourceWithExport.checkExportRequest — its message ends in a space
  if (value !== null && !OUTPUT_FORMATS.includes(value.toLowerCase())) {
    throw new ApiError(400, "'_outputFormat' query parameter must be 'application/fhir+ndjson', 'application/ndjson', or 'ndjson' ");
  }
}

export function parseTypes(value: string | null): ExportResourceType[] {
  // DPC: AbstractResourceWithExport.handleTypeQueryParam — absent or empty means all three types.
  if (value === null || value === '') return [...RESOURCE_TYPES];
  // DPC: matchResourceType compares the trimmed name, but the message shows the element as sent
  return value.split(',').map((raw) => {
    const type = RESOURCE_TYPES.find((t) => t.toLowerCase() === raw.trim().toLowerCase());
    if (!type) throw new ApiError(400, `Unsupported resource name in the '_type' query parameter: ${raw}`);
    return type;
  });
}

export function parseSince(value: string | null, now: number): number | undefined {
  // DPC: AbstractResourceWithExport.handleSinceQueryParam — a blank value is no `_since`; a parse failure names the
  // text and Java's error index.
  if (value === null || value.trim() === '') return undefined;
  const parsed = parseOffsetDateTime(value);
  if ('errorIndex' in parsed) throw new ApiError(400, `_since parameter \`${value}\` could not be parsed at index ${parsed.errorIndex}`);
  if (parsed.epochMs > now) throw new ApiError(400, "'_since' query parameter cannot be a future date");
  return parsed.epochMs;
}

/** DPC: AbstractResourceWithExport.checkExportRequest — `Prefer` must be exactly `respond-async` (400). */
export function checkRespondAsync(ctx: Ctx): void {
  if (ctx.req.headers.prefer !== 'respond-async') throw new ApiError(400, "The 'Prefer' header must be 'respond-async'");
}

/**
 * Starts an export job for the operation at `path` (`/Group/{id}/$export`, `/Patient/{id}/$everything`, …) and answers
 * 202 with the job's status URL. DPC's `request` echo joins path and query without the '?'.
 */
export async function startJob(ctx: Ctx, path: string, job: Omit<KickoffRequest, 'orgId' | 'requestUrl'>): Promise<Reply> {
  const { app } = ctx;
  const { jobId } = await app.exportService.kickoff({ orgId: ctx.orgId, requestUrl: `${app.baseUrl}${path}${ctx.url.search.slice(1)}`, ...job });
  return { status: 202, headers: { 'Content-Location': `${app.baseUrl}/Jobs/${jobId}` } };
}

async function slowFirstByte(ms: number | undefined): Promise<void> {
  if (ms !== undefined && ms > 0) await sleep(ms);
}

export const exportRoutes: Route[] = [
  {
    methods: ['GET'], path: '/Group/:id/$export', flavor: 'fhir', pathAuthorizer: 'Group',
    handler: async (ctx): Promise<Reply> => {
      const { app } = ctx;
      // DPC: R/GroupResource.java export — the path authorizer (a filter) first, then checkExportRequest
      // (`_outputFormat`, then `Prefer`: 400), then the members (406), then `_type`, then `_since` (400).
      // Other parameters (`_elements`, `_typeFilter`, `patient`, ...) are ignored.
      const group = ownedGroup(app, ctx.orgId, ctx.params.id!);
      const params = ctx.url.searchParams;
      // bean validation before the method: `_type`, `_outputFormat` and `_since` are @NoHtml (AbstractGroupResource)
      checkNoHtml([['arg2', params.get('_type')], ['arg3', params.get('_outputFormat')], ['arg4', params.get('_since')]]);
      parseOutputFormat(params.get('_outputFormat'));
      checkRespondAsync(ctx);
      const now = app.clock.now();
      if (group.members.length === 0) throw new ApiError(406, 'Cannot perform export with no beneficiaries');
      const active = activeMembers(group.members, now);
      if (active.length === 0) throw new ApiError(406, 'No active attributed patients found for the group');
      const types = parseTypes(params.get('_type'));
      const since = parseSince(params.get('_since'), now);
      const patients = active.map((m) => ({ id: m.patientId, mbi: app.store.patients.get(m.patientId)?.mbi ?? '' }));
      return startJob(ctx, `/Group/${group.id}/$export`, { groupId: group.id, patients, types, ...(since !== undefined ? { since } : {}) });
    },
  },
  {
    methods: ['GET'], path: '/Jobs/:id', flavor: 'json',
    handler: async (ctx): Promise<Reply> => {
      await slowFirstByte(ctx.app.faults().slowFirstByteMs);
      // DPC: R/JobResource.java checkJobStatus — the id is @NoHtml (400), then UUID.fromString throws for a non-UUID:
      // a plain 500
      checkNoHtml([['arg1', ctx.params.id]]);
      if (!isUuid(ctx.params.id!)) throw serverError();
      const status = ctx.app.exportService.status(ctx.orgId, ctx.params.id!);
      switch (status.state) {
        case 'not-found':
          throw new ApiError(404, 'Could not find job', { text: true });
        case 'wrong-org':
          throw new ApiError(401, 'Invalid organization for job', { text: true });
        case 'expired':
          return { status: 410 };
        case 'in-progress':
          return { status: 202, headers: { 'X-Progress': status.progress } };
        case 'failed':
          throw new ApiError(500, status.message);
        case 'complete':
          return { status: 200, body: status.body, headers: { Expires: status.expires.toUTCString() } };
      }
    },
  },
  {
    methods: ['GET', 'HEAD'], path: '/Data/:file', flavor: 'json', produces: ['application/ndjson'],
    handler: async (ctx) => {
      // DPC: R/DataResource.java serves `/{fileID}.ndjson`: another name matches no resource method (Jersey's 404)
      if (!/^.+\.ndjson$/.test(ctx.params.file!)) throw jerseyNotFound();
      await ctx.app.exportService.serveData(ctx.req, ctx.res, ctx.orgId, ctx.params.file!);
    },
  },
];
