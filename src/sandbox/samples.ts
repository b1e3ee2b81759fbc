/** The published DPC sample files the sandbox serves and seeds from (copied under samples/, see samples/SOURCE.md). */
import type * as fhir3 from 'fhir/r3.js';
import { readFileSync } from 'node:fs';

// src/sandbox/ and dist/sandbox/ both sit two levels below the package root.
const SAMPLES_DIR = new URL('../../samples/', import.meta.url);

export function readSample<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, SAMPLES_DIR), 'utf8')) as T;
}

/** The resources inside a `Parameters` → `Bundle` sample (DPC's `$submit` shape). */
export function sampleResources<T extends fhir3.Resource>(name: string): T[] {
  const parameters = readSample<fhir3.Parameters>(name);
  const bundle = parameters.parameter?.[0]?.resource as fhir3.Bundle | undefined;
  return (bundle?.entry ?? []).map((e) => e.resource as T).filter((r): r is T => r !== undefined);
}
