/**
 * One patient's claims data (behaviour doc §11.1, §11.2; DPC: R/PatientResource.java `everything`, `export`):
 * point-of-care `Patient/{id}/$everything` (synchronous Bundle, or a job with `Prefer: respond-async`) and
 * `Patient/{id}/$export`. There is no type-level `/Patient/$export`: that path falls through to `GET /Patient/{id}`
 * and is not found, as on DPC.
 */
import type * as fhir3 from 'fhir/r3.js';
import { randomUUID } from 'node:crypto';
import type { App } from '../app.js';
import type { ExportResourceType } from '../export/contract.js';
import { ApiError, logId, type Reply } from '../http.js';
import { fireFault } from '../faults.js';
import { checkNoHtml } from '../no-html.js';
import { attestingPractitioner, parseProvenance } from '../provenance.js';
import type { Ctx, Route } from '../router.js';
import type { PatientRecord } from '../state.js';
import { checkRespondAsync, parseOutputFormat, parseSince, parseTypes, RESOURCE_TYPES, startJob } from './export.js';
import { fhirReply } from './fhir.js';
import { ownedPatient } from './patient.js';

/**
 * DPC: R/PatientResource.java getOnBehalfOfNPI — X-Provenance is required (400 missing/unparseable, 422 off-profile);
 * its practitioner is read from attribution by id alone, so an unknown one is attribution's 404, relayed as it is
 * (HAPIExceptionHandler; dpc-attribution R/PractitionerResource.java getProvider words it).
 */
function checkAttestation(ctx: Ctx, noHtml: ReadonlyArray<readonly [string, string | null]>): void {
  // the header is read (400) while Jersey resolves the parameters; bean validation (`@NoHtml` query parameters,
  // named as the abstract method declares them with @QueryParam) runs before the method looks the practitioner up
  const provenance = parseProvenance(ctx.req.headers['x-provenance']);
  checkNoHtml(noHtml);
  const { id, practitioner } = attestingPractitioner(provenance, (pid) => ctx.app.store.practitioners.get(pid));
  if (!practitioner) throw new ApiError(404, `Provider ${id} is not registered`);
}

/**
 * What an AWS load balancer answers when the upstream outlasts its idle timeout (DPC documents a 504 on
 * `$everything`, R/PatientResource.java @ApiResponse(code = 504), but no DPC code sends one itself).
 */
const GATEWAY_TIMEOUT_HTML = '<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n';

/** SandboxFaults.everythingTimeout: this synchronous `$everything` timed out upstream (a reply), or not (undefined). */
function everythingTimeout(app: App): Reply | undefined {
  const fault = fireFault(app.faults(), 'everythingTimeout');
  if (!fault) return undefined;
  // DPC: dpc-queue service/DataService.java retrieveData — no result within jobTimeoutInSeconds throws
  // DataRetrievalException("Failed to retrieve data"), rendered by DefaultFHIRExceptionHandler as a fatal 500.
  if (fault.status === 500) throw new ApiError(500, 'Failed to retrieve data');
  return { status: 504, body: GATEWAY_TIMEOUT_HTML, contentType: 'text/html' };
}

/** A one-patient job. */
function kickoffFor(ctx: Ctx, patient: PatientRecord, operation: string, types: readonly ExportResourceType[], since: number | undefined): Promise<Reply> {
  const patients = [{ id: patient.id, mbi: patient.mbi }];
  return startJob(ctx, `/Patient/${patient.id}/${operation}`, { patients, types, ...(since !== undefined ? { since } : {}) });
}

export const patientDataRoutes: Route[] = [
  {
    methods: ['GET'], path: '/Patient/:id/$everything', flavor: 'fhir', pathAuthorizer: 'Patient',
    handler: async (ctx) => {
      // DPC: @PathAuthorizer — another organization's patient is not found before anything else is looked at
      const patient = ownedPatient(ctx.app, ctx.orgId, ctx.params.id!);
      checkAttestation(ctx, [['query param _since', ctx.url.searchParams.get('_since')]]);
      const since = parseSince(ctx.url.searchParams.get('_since'), ctx.app.clock.now());
      // DPC: exact string equality with `respond-async`; the job holds the three types, _type is not read
      if (ctx.req.headers.prefer === 'respond-async') return kickoffFor(ctx, patient, '$everything', RESOURCE_TYPES, since);
      const timedOut = everythingTimeout(ctx.app);
      if (timedOut) return timedOut;
      const data = await ctx.app.exportService.patientData(patient.mbi, RESOURCE_TYPES, since);
      // DPC: an OperationOutcome from the data service is thrown as ForbiddenOperationException → 403 with that outcome,
      // to which HAPIExceptionHandler gives the 16-hex log id
      if ('outcome' in data) throw new ApiError(403, 'patient data not available', { body: { ...(data.outcome as object), id: logId() } });
      const bundle: fhir3.Bundle = {
        resourceType: 'Bundle',
        id: randomUUID(),
        type: 'searchset',
        total: data.resources.length,
        entry: data.resources.map((resource) => ({ resource: resource as fhir3.Resource })),
      };
      return fhirReply(200, bundle);
    },
  },
  {
    methods: ['GET'], path: '/Patient/:id/$export', flavor: 'fhir', pathAuthorizer: 'Patient',
    handler: async (ctx) => {
      const patient = ownedPatient(ctx.app, ctx.orgId, ctx.params.id!);
      const params = ctx.url.searchParams;
      checkAttestation(ctx, ['_since', '_type', '_outputFormat'].map((name) => [`query param ${name}`, params.get(name)] as const));
      // DPC: R/PatientResource.java export reads _since and _type before checkExportRequest, which requires
      // _outputFormat (no default here, unlike Group) and then `Prefer: respond-async`
      const since = parseSince(params.get('_since'), ctx.app.clock.now());
      const types = parseTypes(params.get('_type'));
      parseOutputFormat(params.get('_outputFormat') ?? '');
      checkRespondAsync(ctx);
      return kickoffFor(ctx, patient, '$export', types, since);
    },
  },
];
