/** A kick-off whose Content-Location no base can make a URL of fails naming that header, not with a bare "Invalid URL". */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { kickoff } from '../../src/export/job.js';
import { DpcError } from '../../src/errors.js';
import { startHostileServer, type HostileServer } from './hostile-server.js';

let server: HostileServer;

beforeAll(async () => {
  server = await startHostileServer();
  server.route('/fhir/Patient/$export', (_req, res) => res.writeHead(202, { 'content-location': 'http://[::1/jobs/1' }).end());
});

afterAll(async () => {
  await server.close();
});

it('names the Content-Location header of the kick-off', async () => {
  const transport = server.transport();
  const failure = await kickoff(transport, { scope: { level: 'patient' } }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(DpcError);
  expect((failure as DpcError).code).toBe('ERR_HTTP');
  expect((failure as DpcError).message).toBe(
    'GET /Patient/$export answered 202 with a Content-Location header that is not a URL: http://[::1/jobs/1',
  );
});
