/**
 * FHIR answers of the wrong shape from a hostile server (a real loopback server): each fails as ERR_HTTP in one line
 * naming what came instead of the resource, never as a TypeError from walking it, and a `next` link that is not
 * http(s) is not followed.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DpcError } from '../../src/errors.js';
import { getOrganization } from '../../src/fhir/organization.js';
import { getPatient, listPatients } from '../../src/fhir/patients.js';
import { listGroups } from '../../src/fhir/groups.js';
import { attributedNpi, memberPatientId } from '../../src/fhir/resources.js';
import { patientEverything } from '../../src/fhir/everything.js';
import { hostileServerPerTest } from '../export/hostile-server.js';
import { clientOn } from '../client-on.js';

const server = hostileServerPerTest();

const fhir = (body: unknown) => (_req: unknown, res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(typeof body === 'string' ? body : JSON.stringify(body));

async function failure(call: Promise<unknown>): Promise<DpcError> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DpcError);
  expect((error as DpcError).code).toBe('ERR_HTTP');
  // eslint-disable-next-line no-control-regex
  expect((error as DpcError).message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  expect((error as DpcError).message.length).toBeLessThan(300);
  return error as DpcError;
}

describe('a search answered with something else than a Bundle of resources', () => {
  it.each([
    ['an array', [], 'an array, not a FHIR resource'],
    ['a string', '"hello"', 'a string, not a FHIR resource'],
    ['a Patient', { resourceType: 'Patient', id: 'p1' }, 'a Patient, not a Bundle'],
    ['an entry that is an object', { resourceType: 'Bundle', entry: { resource: { resourceType: 'Patient' } } }, 'a Bundle whose "entry" is an object, not an array'],
    ['an entry item that is a number', { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', id: 'a' } }, 5] }, 'a Bundle whose entry[1] is a number'],
    ['a resource without a type', { resourceType: 'Bundle', entry: [{ resource: { id: 'a' } }] }, 'a Bundle whose entry[0] is not a resource (a JSON object without a resourceType)'],
    ['a link that is a string', { resourceType: 'Bundle', entry: [], link: 'next' }, 'a Bundle whose "link" is a string, not an array'],
    ['an id that is a number', { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', id: 7 } }] }, 'a Bundle whose entry[0] is not a resource (a Patient whose id is a number)'],
    ['a Group whose members are no list', { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Group', id: 'g', member: 'everyone' } }] }, 'a Bundle whose entry[0] is not a resource (a Group whose "member" is a string, not an array)'],
    ['a huge escaped type', { resourceType: `\u001b[2J${'X'.repeat(100_000)}` }, 'a \\u001b[2JXXXX'],
  ])('%s', async (_, body, message) => {
    server.route('/fhir/Patient', fhir(body));
    const error = await failure(listPatients(clientOn(server.transport())));
    expect(error.message).toContain(`search /Patient: page 1 answered ${message}`);
  });

  it('a next link on a file: URL is not followed', async () => {
    server.route('/fhir/Group', fhir({ resourceType: 'Bundle', entry: [], link: [{ relation: 'next', url: 'file:///etc/passwd' }] }));
    const error = await failure(listGroups(clientOn(server.transport())));
    expect(error.message).toBe('search /Group: page 1: its "next" link is not an http(s) URL; stopped following it');
    expect(server.seen).toHaveLength(1);
  });
});

describe('a read answered with something else than the resource', () => {
  it('GET /Organization answering null', async () => {
    server.route('/fhir/Organization', fhir('null'));
    expect((await failure(getOrganization(clientOn(server.transport())))).message).toBe('GET /Organization answered null, not a FHIR resource');
  });

  it('GET /Patient/{id} answering a Group', async () => {
    server.route('/fhir/Patient/p1', fhir({ resourceType: 'Group', id: 'g1' }));
    expect((await failure(getPatient(clientOn(server.transport()), 'p1'))).message).toBe('GET /Patient/p1 answered a Group, not a Patient');
  });

  it('$everything answering an empty body or an array', async () => {
    server.route('/fhir/Patient/p1/$everything', (_req, res, hit) => (hit === 1 ? res.writeHead(200).end() : fhir([{ resourceType: 'Bundle' }])(_req, res)));
    const client = clientOn(server.transport());
    expect((await failure(patientEverything(client, 'p1', { provenance: 'x' }))).message).toBe('GET /Patient/p1/$everything answered null, not a FHIR resource');
    expect((await failure(patientEverything(client, 'p1', { provenance: 'x' }))).message).toBe('GET /Patient/p1/$everything answered an array, not a FHIR resource');
  });
});

it('a Group member or characteristic missing its parts names no patient or NPI instead of throwing (pure)', () => {
  const group = (fields: Record<string, unknown>) => ({ resourceType: 'Group', ...fields }) as never;
  expect(memberPatientId({} as never)).toBeUndefined();
  expect(memberPatientId({ entity: { reference: 42 } } as never)).toBeUndefined();
  expect(attributedNpi(group({ characteristic: [{}, { code: 'x' }, { code: { coding: [{ code: 'attributed-to' }] }, valueCodeableConcept: { coding: 'n' } }] }))).toBeUndefined();
  expect(attributedNpi(group({ characteristic: [{ code: { coding: [{ code: 'attributed-to' }] }, valueCodeableConcept: { coding: [{ code: '1232125215' }] } }] }))).toBe('1232125215');
});

