/** `GET /StructureDefinition[/{id}]` (public, behaviour doc §7): the six DPC profiles, as published in dpc-app. */
import type * as fhir3 from 'fhir/r3.js';
import { ApiError } from '../http.js';
import { checkNoHtml } from '../no-html.js';
import type { Route } from '../router.js';
import { readSample } from '../samples.js';
import { fhirReply, searchset } from './fhir.js';

const FILES = ['Address', 'Attestation', 'AttributionRoster', 'Organization', 'Patient', 'Practitioner'].map((n) => `validations/DPC${n}.json`);

let cached: fhir3.StructureDefinition[] | undefined;
function definitions(): fhir3.StructureDefinition[] {
  cached ??= FILES.map((file) => readSample<fhir3.StructureDefinition>(file));
  return cached;
}

export const definitionRoutes: Route[] = [
  {
    methods: ['GET'], path: '/StructureDefinition', flavor: 'fhir', public: true,
    handler: () => fhirReply(200, searchset(definitions())),
  },
  {
    methods: ['GET'], path: '/StructureDefinition/:id', flavor: 'fhir', public: true,
    handler: (ctx) => {
      // DPC: R/DefinitionResource.java getStructureDefinition — the id is @NoHtml
      checkNoHtml([['arg0', ctx.params.id]]);
      const found = definitions().find((d) => d.id === ctx.params.id);
      if (!found) throw new ApiError(404, `Cannot find Structure Definition with ID: ${ctx.params.id!}`);
      return fhirReply(200, found);
    },
  },
];
