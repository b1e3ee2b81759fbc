/**
 * Request/response plumbing shared by every route: the error type routes throw, the reply type they
 * return, and rendering of both in the three DPC error shapes (behaviour doc §0.2).
 */
import type * as fhir3 from 'fhir/r3.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

/** FHIR routes answer OperationOutcome; the others Dropwizard's `{code, message}`. */
export type Flavor = 'fhir' | 'json';

export const FHIR_JSON = 'application/fhir+json';
export const JSON_TYPE = 'application/json';

export interface Reply {
  status: number;
  /** Objects are serialised as JSON; strings and Buffers are sent as they are. */
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface ApiErrorOptions {
  /** A complete body to send instead of the flavour's default shape. */
  body?: unknown;
  /** The media type of that body, when it is not the flavour's. */
  contentType?: string;
  /** Send the message as a plain-text body (DPC does this for a few errors, e.g. /Jobs 404). */
  text?: boolean;
  /** Bean-validation messages, one per violation, rendered in the route's flavour (see `constraintViolations`). */
  violations?: readonly string[];
  /** Response headers to send with the error (405's Allow). */
  headers?: Record<string, string>;
}

/** Thrown by routes; the server renders it in the route's flavour. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly options: ApiErrorOptions = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The auth filter's 401 body (DPCUnauthorizedHandler, behaviour doc §0.2 item 2). */
export const UNAUTHORIZED_BODY = {
  resourceType: 'OperationOutcome',
  issue: [{
    severity: 'error',
    code: 'exception',
    details: {
      coding: [{ system: 'http://hl7.org/fhir/operation-outcome', code: 'MSG_AUTH_REQUIRED' }],
      text: 'HTTP 401 Unauthorized, Credentials are required to access this resource.',
    },
  }],
};

/** What the auth layer answers when credentials are missing, invalid, or for another organization. */
export function unauthorized(): ApiError {
  // DPCUnauthorizedHandler sets `.type(FHIR_JSON)`: FHIR JSON on every route, Token, Key and Jobs included
  return new ApiError(401, 'HTTP 401 Unauthorized', { body: UNAUTHORIZED_BODY, contentType: FHIR_JSON });
}

/** The 16-hex "log id" DPC puts in error bodies. */
export function logId(): string {
  return randomBytes(8).toString('hex');
}

/** Profile/bean validation failures: one `invalid` issue per violation (JerseyExceptionHandler). */
export function validationOutcome(messages: readonly string[]): fhir3.OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: logId(),
    issue: messages.map((text) => ({ severity: 'error', code: 'invalid', details: { text } })),
  };
}

/**
 * Bean-validation failures as Dropwizard reports them (ConstraintMessage; DPC: dpc-common JerseyExceptionHandler):
 * 400 for query, path and form parameters, 422 for the request body; FHIR resources answer one `invalid` issue per
 * message, the others DPCValidationErrorMessage `{id, errors}`.
 */
export function constraintViolations(status: 400 | 422, messages: readonly string[]): ApiError {
  return new ApiError(status, messages.join('; '), { violations: messages });
}

export function errorReply(error: ApiError, flavor: Flavor): Reply {
  const { headers } = error.options;
  return headers ? { ...flavoredReply(error, flavor), headers } : flavoredReply(error, flavor);
}

function flavoredReply(error: ApiError, flavor: Flavor): Reply {
  const { violations } = error.options;
  if (violations) {
    const body = flavor === 'fhir' ? validationOutcome(violations) : { id: logId(), errors: violations };
    return { status: error.status, body, contentType: flavor === 'fhir' ? FHIR_JSON : JSON_TYPE };
  }
  if (error.options.text) return { status: error.status, body: error.message, contentType: JSON_TYPE };
  if (error.options.body !== undefined) {
    return { status: error.status, body: error.options.body, contentType: error.options.contentType ?? (flavor === 'fhir' ? FHIR_JSON : JSON_TYPE) };
  }
  if (flavor === 'fhir') {
    // DefaultFHIRExceptionHandler: severity fatal, details.text, no issue.code.
    const body = { resourceType: 'OperationOutcome', id: logId(), issue: [{ severity: 'fatal', details: { text: error.message } }] };
    return { status: error.status, body, contentType: FHIR_JSON };
  }
  return { status: error.status, body: { code: error.status, message: error.message }, contentType: JSON_TYPE };
}

/** Jersey's own 404: no resource method matches the path, or a path or query parameter fails its conversion. */
export function jerseyNotFound(): ApiError {
  return new ApiError(404, 'HTTP 404 Not Found');
}

/** What Dropwizard answers for an unexpected exception (no details leak). */
export function serverError(): ApiError {
  return new ApiError(500, `There was an error processing your request. It has been logged (ID ${logId()}).`);
}

/**
 * Dropwizard gzips responses when asked (not /Data, which the export engine serves itself): dpc-api
 * application.yml `server.gzip.enabled: true` with /v1/Data/* excluded, and Dropwizard's GzipHandlerFactory
 * default `minimumEntitySize` of 256 bytes.
 */
const GZIP_MIN_BYTES = 256;

function wantsGzip(acceptEncoding: string | undefined): boolean {
  return (acceptEncoding ?? '').split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    return coding.trim() === 'gzip' && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

export function send(res: ServerResponse, reply: Reply, acceptEncoding?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  let payload: Buffer | string | undefined;
  if (reply.body === undefined) payload = undefined;
  else if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) payload = reply.body;
  else payload = JSON.stringify(reply.body);
  if (payload !== undefined && Buffer.byteLength(payload) >= GZIP_MIN_BYTES && wantsGzip(acceptEncoding)) {
    payload = gzipSync(payload);
    res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Vary', 'Accept-Encoding');
  }
  if (payload !== undefined) {
    res.setHeader('Content-Type', reply.contentType ?? JSON_TYPE);
    res.setHeader('Content-Length', Buffer.byteLength(payload));
  } else if (reply.status !== 204 && reply.status !== 304) {
    res.setHeader('Content-Length', 0);
  }
  res.statusCode = reply.status;
  res.end(payload);
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** Reads a request body whole; API bodies are small JSON/FHIR documents (largest: a 1350-member roster). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; the error text matches each flavour's real parser failure. */
export function parseJson(body: Buffer, flavor: Flavor): unknown {
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    if (flavor === 'fhir') throw new ApiError(400, 'Failed to parse request body as JSON resource');
    throw new ApiError(400, 'Value could not be parsed as JSON', { text: true });
  }
}
