/**
 * A DpcClient around a hand-made Transport, for tests against small purpose-built servers (a generic Bulk Data
 * server, a hostile one) whose token or timeouts createClient does not set. Only transport, now and redactor are real.
 */
import type { DpcClient } from '../src/client.js';
import { Redactor } from '../src/redact.js';
import type { Transport } from '../src/transport/index.js';

export function clientOn(transport: Transport, now: () => number = Date.now): DpcClient {
  return {
    baseUrl: transport.baseUrl,
    transport,
    now,
    redactor: new Redactor(),
    // the export engine and FHIR calls never touch these: the transport brings its own token provider
    tokens: undefined as never,
    dispatcher: undefined as never,
    close: () => transport.close(),
  };
}
