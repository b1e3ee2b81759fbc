/**
 * Third audit of the sandbox against DPC's source, over raw HTTP as an outside checker probes it: `@NoHtml` parameters
 * (400 per parameter, 422 for a body), empty search parameters, Patient paging conversions, POST /Token's label and
 * expiration rules, /Token/validate's empty body, how PEMParser reads an uploaded key, the admin-only operations a
 * client token cannot reach, Jersey's optional trailing slash, 405's Allow, and non-UUID ids in path-authorized paths.
 * R = dpc-api/src/main/java/gov/cms/dpc/api/resources.
 */
import type * as fhir3 from 'fhir/r3.js';
import { createPublicKey, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containsHtml } from '../../src/sandbox/no-html.js';
import { api, FHIR, groupBody, outcomeText, postToken, provenance, rsaKey, seededRoster, snippetSignature, tokenForm } from './helpers.js';

describe('containsHtml (pure): what Jsoup.clean(value, Safelist.none()) would change (dpc-common NoHtmlValidator.java)', () => {
  it('refuses tags, raw < > and &, and no-break spaces', () => {
    for (const value of ['<b>x</b>', 'a<b', 'a > b', 'R&D', '&quot;', '&#60;', '&copy;', 'a\u00a0b', '\u00a0', 'a & & b']) {
      expect(containsHtml(value), value).toBe(true);
    }
  });

  it('takes plain text, blank values, "x & y" and the entities Jsoup writes itself', () => {
    for (const value of [null, undefined, '', '  ', 'Dr. Smith', 'Smith & Sons', 'a\t&\nb', 'a &amp; b', '&lt;tag&gt;', 'x&nbsp;y', '"quoted"']) {
      expect(containsHtml(value), String(value)).toBe(false);
    }
  });
});

describe('over loopback', () => {
  let r: Awaited<ReturnType<typeof seededRoster>>;
  const JSON_HEADERS = { Accept: 'application/json', 'Content-Type': 'application/json' };
  const get = async <T>(path: string) => (await (await api(r.sb, r.token, path)).json()) as T;
  /** Read in the test that compares with it: other tests of this file add patients. */
  const patientTotal = async () => (await get<fhir3.Bundle>('/Patient')).total;
  const postJson = (path: string, body?: unknown) =>
    api(r.sb, r.token, path, { method: 'POST', headers: JSON_HEADERS, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  /** A FHIR bean-validation failure: one `invalid` issue per violation (dpc-common JerseyExceptionHandler). */
  async function expectInvalid(res: Response, status: number, text: string) {
    expect(res.status, text).toBe(status);
    expect(res.headers.get('content-type')).toBe(FHIR);
    expect(await res.json()).toEqual({
      resourceType: 'OperationOutcome', id: expect.stringMatching(/^[0-9a-f]{16}$/),
      issue: [{ severity: 'error', code: 'invalid', details: { text } }],
    });
  }
  /** A non-FHIR bean-validation failure: DPCValidationErrorMessage `{id, errors}`. */
  async function expectErrors(res: Response, status: number, error: string) {
    expect(res.status, error).toBe(status);
    expect(await res.json()).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/), errors: [error] });
  }
  async function expectFatal(res: Response, status: number, text: string) {
    expect(res.status, text).toBe(status);
    expect(outcomeText(await res.json())).toEqual([text]);
  }

  beforeAll(async () => {
    r = await seededRoster();
  });
  afterAll(async () => r?.sb.close());

  describe('searches (R/v1/PractitionerResource.java practitionerSearch, R/v1/PatientResource.java patientSearch)', () => {
    it('an empty identifier filters nothing: every practitioner, every patient', async () => {
      const all = await get<fhir3.Bundle>('/Practitioner');
      expect((await get<fhir3.Bundle>('/Practitioner?identifier=')).total).toBe(all.total);
      expect(all.total).toBeGreaterThan(1);
      expect((await get<fhir3.Bundle>('/Patient?identifier=')).total).toBe(await patientTotal());
    });

    it('PUT /Practitioner/{id}: the body is read and profile-checked (422) before the method answers 501 (R/v1/PractitionerResource.java updateProvider)', async () => {
      const res = await api(r.sb, r.token, `/Practitioner/${r.practitionerId}`, { method: 'PUT', json: { resourceType: 'Practitioner' } });
      expect(res.status).toBe(422);
      expect(((await res.json()) as fhir3.OperationOutcome).issue[0]!.code).toBe('invalid');
    });

    it('$validate answers HAPI\'s ValidationResult.toOperationOutcome: no id, `processing` issues with diagnostics (common ValidationHelpers.java)', async () => {
      const parameters = { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Practitioner', name: [{ family: 'F', given: ['G'] }] } }] };
      const outcome = (await (await api(r.sb, r.token, '/Practitioner/$validate', { method: 'POST', json: parameters })).json()) as fhir3.OperationOutcome;
      expect(outcome.id).toBeUndefined();
      expect(outcome.issue).toEqual([{ severity: 'error', code: 'processing', diagnostics: expect.stringContaining('identifier'), location: [expect.stringMatching(/^Practitioner\./)] }]);
    });

    it('a system in `identifier` is recognised case-sensitively (IDENTIFIER_PATTERN): `HTTP://…|MBI` is a bare value matching nothing', async () => {
      const upper = await api(r.sb, r.token, `/Patient?identifier=${encodeURIComponent('HTTP://hl7.org/fhir/sid/us-mbi|1S00E00AA01')}`);
      expect(upper.status).toBe(200);
      expect(((await upper.json()) as fhir3.Bundle).total).toBe(0);
    });

    it('identifier is @NoHtml: markup → 400 "arg1 Cannot contain HTML"; "x & y" is plain text', async () => {
      await expectInvalid(await api(r.sb, r.token, '/Practitioner?identifier=%3Cb%3E1232131239%3C/b%3E'), 400, 'arg1 Cannot contain HTML');
      await expectInvalid(await api(r.sb, r.token, '/Patient?identifier=1S00E00AA00%3Cscript%3E'), 400, 'arg1 Cannot contain HTML');
      expect((await get<fhir3.Bundle>('/Practitioner?identifier=1%20%26%202')).total).toBe(0);
    });

    it('_count and _offset: negative → 400 "Parameter _count must be >= 0"; empty is absent', async () => {
      await expectFatal(await api(r.sb, r.token, '/Patient?_count=-1'), 400, 'Parameter _count must be >= 0');
      await expectFatal(await api(r.sb, r.token, '/Patient?_count=5&_offset=-1'), 400, 'Parameter _offset must be >= 0');
      const unpaged = await get<fhir3.Bundle>('/Patient?_count=');
      expect(unpaged.total).toBe(await patientTotal());
      expect(unpaged.link).toBeUndefined();
    });

    it('_count that Integer.valueOf refuses (not a number, beyond int) fails the conversion: JAX-RS 404; "+2" is 2', async () => {
      for (const count of ['abc', '1.5', '2147483648']) await expectFatal(await api(r.sb, r.token, `/Patient?_count=${count}`), 404, 'HTTP 404 Not Found');
      expect((await get<fhir3.Bundle>('/Patient?_count=%2B2')).entry).toHaveLength(2);
    });

    it('Group search reads only what follows the one `$` of characteristic-value (attribution GroupResource.parseCompositeID)', async () => {
      const found = await get<fhir3.Bundle>('/Group?characteristic-value=anything$1232131239');
      expect(found.total).toBe(1);
    });

    it('Group search parameters are @NoHtml: characteristic-value is arg1, member arg2 (R/v1/GroupResource.java rosterSearch)', async () => {
      await expectInvalid(await api(r.sb, r.token, '/Group?characteristic-value=attributed-to$%3Cb%3E'), 400, 'arg1 Cannot contain HTML');
      await expectInvalid(await api(r.sb, r.token, '/Group?member=%3Ci%3Ex'), 400, 'arg2 Cannot contain HTML');
    });
  });

  describe('@NoHtml on export parameters (R/AbstractGroupResource.java, R/AbstractPatientResource.java, R/v1/JobResource.java)', () => {
    it('Group $export: _type arg2, _outputFormat arg3, _since arg4 — before the Prefer check', async () => {
      const kick = (query: string) => api(r.sb, r.token, `/Group/${r.groupId}/$export${query}`);
      await expectInvalid(await kick('?_type=%3Cb%3EPatient'), 400, 'arg2 Cannot contain HTML');
      await expectInvalid(await kick('?_outputFormat=ndjson%3Cp%3E'), 400, 'arg3 Cannot contain HTML');
      await expectInvalid(await kick('?_since=%3Cb%3E'), 400, 'arg4 Cannot contain HTML');
    });

    it('Patient $everything and $export: the abstract method declares @QueryParam, so the name is "query param _since"', async () => {
      const headers = { 'X-Provenance': provenance(r.orgId, r.practitionerId) };
      await expectInvalid(await api(r.sb, r.token, `/Patient/${r.patientId}/$everything?_since=%3Cb%3E`, { headers }), 400, 'query param _since Cannot contain HTML');
      const exported = await api(r.sb, r.token, `/Patient/${r.patientId}/$export?_type=%3Ci%3E`, { headers: { ...headers, Prefer: 'respond-async' } });
      await expectInvalid(exported, 400, 'query param _type Cannot contain HTML');
      // the header is read before bean validation: a missing one is still its own 400
      await expectFatal(await api(r.sb, r.token, `/Patient/${r.patientId}/$everything?_since=%3Cb%3E`), 400, 'Must have X-Provenance header');
    });

    it('/Jobs/{id} is arg1: {id, errors} before the id is parsed as a UUID', async () => {
      const headers = { Authorization: `Bearer ${r.token}`, Accept: 'application/json' };
      await expectErrors(await fetch(`${r.sb.baseUrl}/Jobs/%3Cb%3E`, { headers }), 400, 'arg1 Cannot contain HTML');
    });

    it('/StructureDefinition/{id} (public) → "arg0 Cannot contain HTML" (R/v1/DefinitionResource.java)', async () => {
      await expectInvalid(await fetch(`${r.sb.baseUrl}/StructureDefinition/%3Cb%3E`, { headers: { Accept: FHIR } }), 400, 'arg0 Cannot contain HTML');
    });
  });

  describe('/Token (R/v1/TokenResource.java, R/AbstractTokenResource.java, api/models/CreateTokenRequest.java)', () => {
    it('?label is @NoHtml (400 "arg2 ..."); the body\'s label too, as a request-body violation (422 "label ...")', async () => {
      await expectErrors(await postJson('/Token?label=%3Cb%3Ex%3C/b%3E'), 400, 'arg2 Cannot contain HTML');
      await expectErrors(await postJson('/Token', { label: '<b>x</b>' }), 422, 'label Cannot contain HTML');
      const plain = await postJson('/Token', { label: 'Smith & Sons' });
      expect(((await plain.json()) as { label: string }).label).toBe('Smith & Sons');
    });

    it('an empty body label does not count: ?label, else the default label', async () => {
      const fromQuery = (await (await postJson('/Token?label=query', { label: '' })).json()) as { label: string };
      expect(fromQuery.label).toBe('query');
      const byDefault = (await (await postJson('/Token', { label: '' })).json()) as { label: string };
      expect(byDefault.label).toBe(`Token for organization ${r.orgId}.`);
    });

    it('a JSON null body is no request body: the default label', async () => {
      const res = await postJson('/Token', null);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { label: string }).label).toBe(`Token for organization ${r.orgId}.`);
    });

    it('?expiration that OffsetDateTime cannot parse → 400 {code, message: "HTTP 400 Bad Request"} (Dropwizard OffsetDateTimeParam)', async () => {
      const res = await postJson('/Token?expiration=tomorrow');
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ code: 400, message: 'HTTP 400 Bad Request' });
    });

    it('/Token/auth form fields are @NoHtml too: "arg0 Cannot contain HTML"', async () => {
      await expectErrors(await postToken(r.sb, tokenForm('x.y.z', { scope: '<b>system/*.*</b>' })), 400, 'arg0 Cannot contain HTML');
    });

    it('/Token/validate with an empty body → 422 "The request body Must submit JWT"', async () => {
      const validate = (body: string) => fetch(`${r.sb.baseUrl}/Token/validate`, { method: 'POST', headers: { 'Content-Type': 'text/plain', Accept: 'application/json' }, body });
      await expectErrors(await validate(''), 422, 'The request body Must submit JWT');
      await expectErrors(await validate('<b>jwt</b>'), 422, 'The request body Cannot contain HTML');
    });
  });

  describe('POST /Key reads the PEM as BouncyCastle does (R/v1/KeyResource.java parseAndValidateKey, auth/jwt/PublicKeyHandler.java)', () => {
    const postKey = (key: string, signature: string) => postJson('/Key', { key, signature });
    const message = async (res: Response) => ((await res.json()) as { message: string }).message;

    it('no PEM block, or one that is no public key (a private key) → 400 "Public key could not be parsed"', async () => {
      const key = rsaKey(1);
      const signature = snippetSignature(key.privateKey);
      expect(await message(await postKey('not a key', signature))).toBe('Public key could not be parsed');
      const privatePem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const res = await postKey(privatePem, signature);
      expect(res.status).toBe(400);
      expect(await message(res)).toBe('Public key could not be parsed');
    });

    it('a PKCS#1 block parses, but the signature check strips only the SPKI armor → "could not be verified"; so does text around an SPKI block', async () => {
      const key = rsaKey(1);
      const signature = snippetSignature(key.privateKey);
      const pkcs1 = createPublicKey(key.publicKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
      expect(await message(await postKey(pkcs1, signature))).toBe('Public key could not be verified');
      expect(await message(await postKey(`My key:\n${key.publicKeyPem}`, signature))).toBe('Public key could not be verified');
    });
  });

  describe('admin operations (R/v1/OrganizationResource.java, R/v1/AdminResource.java @AdminOperation, auth/filters/AdminAuthFilter.java)', () => {
    it('a client\'s access token is refused with the auth filter\'s 401, whatever the Accept header; the org stays', async () => {
      const attempts: Array<[string, string]> = [['DELETE', `/Organization/${r.orgId}`], ['POST', '/Organization/$submit'], ['GET', '/Admin/Organization?npis=npi%7C1111111112']];
      for (const [method, path] of attempts) {
        const res = await api(r.sb, r.token, path, { method, headers: { Accept: 'application/json' } });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(outcomeText(await res.json())).toEqual(['HTTP 401 Unauthorized, Credentials are required to access this resource.']);
      }
      expect((await api(r.sb, r.token, `/Organization/${r.orgId}`)).status).toBe(200);
    });
  });

  describe('roster writes (R/v1/GroupResource.java verifyHeader; attribution R/v1/GroupResource.java, AbstractGroupResource.rosterSizeTooBig)', () => {
    const OTHER_NPI = '1232125215';
    const ghosts = (n: number) => Array.from({ length: n }, () => randomUUID());
    const practitionerOf = async (npi: string) => (await get<fhir3.Bundle>(`/Practitioner?identifier=${npi}`)).entry![0]!.resource!.id!;

    it('the size is checked first: over 1350 references → 400 "Roster limit reached" before the roster-per-provider 403 and the member lookup', async () => {
      const attested = { 'X-Provenance': provenance(r.orgId, r.practitionerId) };
      const write = (path: string, method: string, group: fhir3.Group) => api(r.sb, r.token, path, { method, json: group, headers: attested });
      await expectFatal(await write('/Group', 'POST', groupBody('1232131239', ghosts(1351))), 400, 'Roster limit reached');
      await expectFatal(await write(`/Group/${r.groupId}/$add`, 'POST', groupBody('1232131239', ghosts(1350))), 400, 'Roster limit reached');
      await expectFatal(await write(`/Group/${r.groupId}`, 'PUT', groupBody('1232131239', ghosts(1351))), 400, 'Roster limit reached');
    });

    it('POST counts members flagged inactive too, though it does not attribute them', async () => {
      const other = await practitionerOf(OTHER_NPI);
      const res = await api(r.sb, r.token, '/Group', {
        method: 'POST', json: groupBody(OTHER_NPI, [], ghosts(1351)), headers: { 'X-Provenance': provenance(r.orgId, other) },
      });
      await expectFatal(res, 400, 'Roster limit reached');
    });

    it('PUT replaces the members but keeps the roster\'s practitioner, whatever NPI the (attested) body names', async () => {
      const other = await practitionerOf('2323232225');
      const created = await api(r.sb, r.token, '/Group', {
        method: 'POST', json: groupBody('1234329724', [r.patientId]), headers: { 'X-Provenance': provenance(r.orgId, await practitionerOf('1234329724')) },
      });
      const groupId = ((await created.json()) as fhir3.Group).id!;
      const res = await api(r.sb, r.token, `/Group/${groupId}`, {
        method: 'PUT', json: groupBody('2323232225', [r.patientId]), headers: { 'X-Provenance': provenance(r.orgId, other) },
      });
      expect(res.status).toBe(200);
      const npiOf = (g: fhir3.Group) => g.characteristic![0]!.valueCodeableConcept!.coding![0]!.code;
      expect(npiOf((await res.json()) as fhir3.Group)).toBe('1234329724');
      expect(npiOf(await get<fhir3.Group>(`/Group/${groupId}`))).toBe('1234329724');
    });
  });

  describe('$submit (dpc-api APIHelpers.bulkResourceClient; attribution bulkSubmitProviders/bulkSubmitPatients; dpc-common BundleHandler)', () => {
    const submit = (type: string, resources: unknown[]) =>
      api(r.sb, r.token, `/${type}/$submit`, { method: 'POST', json: { resourceType: 'Parameters', parameter: [{ resource: { resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) } }] } });
    const practitioner = (npi: string, name: Record<string, unknown> = { family: 'Probe', given: ['Three'] }) =>
      ({ resourceType: 'Practitioner', identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }], name: [name] });

    it('200 collection without total: the new practitioners first, then those the org had; other resource types are passed over', async () => {
      const res = await submit('Practitioner', [practitioner('1232131239'), { resourceType: 'Patient' }, practitioner('1003000126')]);
      expect(res.status).toBe(200);
      const bundle = (await res.json()) as fhir3.Bundle<fhir3.Practitioner>;
      expect(bundle.type).toBe('collection');
      expect(bundle.total).toBeUndefined();
      expect(bundle.entry!.map((e) => e.resource!.identifier![0]!.value)).toEqual(['1003000126', '1232131239']);
    });

    it('nothing of the type → 422 "No practitioners submitted" / "No patients submitted"', async () => {
      await expectFatal(await submit('Practitioner', []), 422, 'No practitioners submitted');
      await expectFatal(await submit('Patient', [practitioner('1003000126')]), 422, 'No patients submitted');
    });

    it("a failing entry ends the request with one fatal issue: that entry's messages joined by \", \"", async () => {
      const res = await submit('Practitioner', [practitioner('1497758544'), practitioner('123', {})]);
      expect(res.status).toBe(422);
      const outcome = (await res.json()) as fhir3.OperationOutcome;
      expect(outcome.issue).toHaveLength(1);
      expect(outcome.issue[0]!.severity).toBe('fatal');
      expect(outcome.issue[0]!.details!.text).toMatch(/invalid NPI "123", .*name\.family.*, .*name\.given/);
      expect((await get<fhir3.Bundle>('/Practitioner?identifier=1497758544')).total).toBe(0);
    });
  });

  describe('FHIR JSON as HAPI writes it (dpc-common FHIRHandler, RosterEntityConverter)', () => {
    it('leaves out elements without content: an empty search has total 0 and no entry, a roster without members no member', async () => {
      const empty = await (await api(r.sb, r.token, '/Practitioner?identifier=1003000126999')).text();
      expect(JSON.parse(empty)).toEqual({ resourceType: 'Bundle', type: 'searchset', total: 0 });
      // no other test gives practitioner 2323232225 a roster
      const owner = (await get<fhir3.Bundle>('/Practitioner?identifier=2323232225')).entry![0]!.resource!.id!;
      const res = await api(r.sb, r.token, '/Group', { method: 'POST', json: groupBody('2323232225', []), headers: { 'X-Provenance': provenance(r.orgId, owner) } });
      expect(res.status).toBe(201);
      const group = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(group)).toEqual(['resourceType', 'id', 'type', 'actual', 'characteristic']);
    });
  });

  describe('stored resources as attribution writes them back (dpc-common PatientEntityConverter, ProviderEntityConverter)', () => {
    it('a Patient: id, meta (update time, profile), the MBI, the first name with its given names as one, gender, birth date, managing org — nothing else', async () => {
      const sent = {
        resourceType: 'Patient', id: 'client-id', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '7a00a00aa77' }, { system: 'urn:other', value: 'x' }],
        name: [{ family: 'Rivera', given: ['Ana', 'Maria'] }, { family: 'Alias', given: ['A'] }],
        gender: 'female', birthDate: '1950-04-05', telecom: [{ system: 'phone', value: '555' }],
      };
      const res = await api(r.sb, r.token, '/Patient', { method: 'POST', json: sent });
      expect(res.status).toBe(201);
      const created = (await res.json()) as fhir3.Patient;
      expect(created).toEqual({
        resourceType: 'Patient', id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        meta: { lastUpdated: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$/), profile: ['https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-patient'] },
        identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: '7A00A00AA77' }],
        name: [{ family: 'Rivera', given: ['Ana Maria'] }],
        gender: 'female', birthDate: '1950-04-05',
        managingOrganization: { reference: `Organization/${r.orgId}` },
      });
      expect(Object.keys(created)).toEqual(['resourceType', 'id', 'meta', 'identifier', 'name', 'gender', 'birthDate', 'managingOrganization']);
      expect(await get<fhir3.Patient>(`/Patient/${created.id}`)).toEqual(created);
    });

    it('a Practitioner: id, meta, the NPI and the name — no organization tag, no other element', async () => {
      const found = (await get<fhir3.Bundle<fhir3.Practitioner>>('/Practitioner?identifier=1232131239')).entry![0]!.resource!;
      expect(Object.keys(found)).toEqual(['resourceType', 'id', 'meta', 'identifier', 'name']);
      expect(found.meta!.profile).toEqual(['https://dpc.cms.gov/api/v1/StructureDefinition/dpc-profile-practitioner']);
      expect(found.meta!.tag).toBeUndefined();
    });
  });

  describe("values HAPI's parser refuses while reading a body (dpc-common FHIRHandler.readFrom, HAPI LenientErrorHandler)", () => {
    const patient = (mbi: string, extra: Record<string, unknown>) => ({
      resourceType: 'Patient', identifier: [{ system: 'http://hl7.org/fhir/sid/us-mbi', value: mbi }],
      name: [{ family: 'Parse', given: ['Probe'] }], gender: 'female', birthDate: '1950-01-01', ...extra,
    });

    it('an unknown gender code or a malformed birth date → 422 "HAPI-1821: [element=…] Invalid attribute value …", nothing stored', async () => {
      await expectFatal(await api(r.sb, r.token, '/Patient', { method: 'POST', json: patient('6A00A00AA61', { gender: 'x' }) }), 422,
        'HAPI-1821: [element="gender"] Invalid attribute value "x": Unknown AdministrativeGender code \'x\'');
      await expectFatal(await api(r.sb, r.token, '/Patient', { method: 'POST', json: patient('6A00A00AA62', { birthDate: '1950-13-01' }) }), 422,
        'HAPI-1821: [element="birthDate"] Invalid attribute value "1950-13-01": HAPI-1882: Invalid date/time format: "1950-13-01"');
      const nested = { resourceType: 'Parameters', parameter: [{ resource: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: patient('6A00A00AA63', { active: 'yes' }) }] } }] };
      await expectFatal(await api(r.sb, r.token, '/Patient/$submit', { method: 'POST', json: nested }), 422,
        'HAPI-1821: [element="active"] Invalid attribute value "yes": Invalid boolean string: \'yes\'');
      expect((await get<fhir3.Bundle>('/Patient?identifier=6A00A00AA61')).total).toBe(0);
    });

    it('a Group body too: type and the boolean flags', async () => {
      const body = { ...groupBody('1232131239', [r.patientId]), actual: 'yes' };
      await expectFatal(await api(r.sb, r.token, `/Group/${r.groupId}/$remove`, { method: 'POST', json: body }), 422,
        'HAPI-1821: [element="actual"] Invalid attribute value "yes": Invalid boolean string: \'yes\'');
    });

    it('a FHIR body without Content-Type has no MessageBodyReader: 415 "HTTP 415 Unsupported Media Type" (Jersey, FHIRHandler @Consumes)', async () => {
      const res = await fetch(`${r.sb.baseUrl}/Practitioner`, {
        method: 'POST', headers: { Authorization: `Bearer ${r.token}`, Accept: FHIR }, body: new Blob([JSON.stringify({ resourceType: 'Practitioner' })]),
      });
      await expectFatal(res, 415, 'HTTP 415 Unsupported Media Type');
    });

    it('an empty X-Provenance header is no missing one: 400 "Cannot parse FHIR `Provenance` resource" (ProvenanceResourceValueFactory)', async () => {
      await expectFatal(await api(r.sb, r.token, `/Patient/${r.patientId}/$everything`, { headers: { 'X-Provenance': '' } }), 400, 'Cannot parse FHIR `Provenance` resource');
    });
  });

  describe('Organization and Data (dpc-common OrganizationEntityConverter, AddressEntityConverter; R/v1/DataResource.java)', () => {
    it('PUT /Organization keeps two address lines (the rest joined by a space) and no element AddressEntity lacks', async () => {
      const own = (await get<fhir3.Bundle<fhir3.Organization>>('/Organization')).entry![0]!.resource!;
      const address = { use: 'work', type: 'both', line: ['1 Main St', 'Suite 2', 'Floor 3'], city: 'Baltimore', district: 'Central', state: 'MD', postalCode: '21244', country: 'US', period: { start: '2020-01-01' } };
      const res = await api(r.sb, r.token, `/Organization/${r.orgId}`, { method: 'PUT', json: { ...own, address: [address] } });
      expect(res.status).toBe(200);
      const updated = (await res.json()) as fhir3.Organization;
      expect(updated.address).toEqual([{ use: 'work', type: 'both', line: ['1 Main St', 'Suite 2 Floor 3'], city: 'Baltimore', district: 'Central', state: 'MD', postalCode: '21244', country: 'US' }]);
      await api(r.sb, r.token, `/Organization/${r.orgId}`, { method: 'PUT', json: own });
    });

    it('/Data/{name} that does not end in .ndjson matches no resource method: Jersey\'s 404', async () => {
      const res = await fetch(`${r.sb.baseUrl}/Data/abc`, { headers: { Authorization: `Bearer ${r.token}` } });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ code: 404, message: 'HTTP 404 Not Found' });
    });
  });

  describe('/metadata (core/Capabilities.java buildCapabilities)', () => {
    it('the template with the build version, an implementation naming the base URL, and the software component', async () => {
      const statement = (await (await fetch(`${r.sb.baseUrl}/metadata`)).json()) as fhir3.CapabilityStatement;
      const version = await (await fetch(`${r.sb.baseUrl}/version`)).text();
      expect(statement.version).toBe(version);
      expect(statement.implementation).toEqual({ description: expect.stringMatching(/^As patients move throughout the healthcare system/), url: r.sb.baseUrl });
      expect(statement.software).toMatchObject({ name: 'Data @ Point of Care API', version });
      expect(statement.url).toBeUndefined();
    });
  });

  describe('routing (Jersey)', () => {
    it('a trailing slash matches the same resource method', async () => {
      expect((await get<fhir3.Bundle>('/Patient/')).total).toBe(await patientTotal());
      expect((await api(r.sb, r.token, `/Practitioner/${r.practitionerId}/`)).status).toBe(200);
      expect((await fetch(`${r.sb.baseUrl}/metadata/`)).status).toBe(200);
    });

    it('405 names the methods the path takes in Allow', async () => {
      const res = await api(r.sb, r.token, '/Group', { method: 'PATCH' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')?.split(',').sort()).toEqual(['GET', 'HEAD', 'POST']);
      expect((await fetch(`${r.sb.baseUrl}/metadata`, { method: 'DELETE' })).headers.get('allow')).toBe('GET,HEAD');
    });

    it("a path-authorized id that is no UUID fails attribution's `_id` conversion: 404 \"HTTP 404 Not Found\" (auth/macaroonauth/MacaroonsAuthenticator.java)", async () => {
      for (const path of ['/Practitioner/abc', '/Patient/abc/$everything', '/Group/abc/$export']) {
        await expectFatal(await api(r.sb, r.token, path), 404, 'HTTP 404 Not Found');
      }
      await expectFatal(await api(r.sb, r.token, `/Group/${randomUUID()}`), 404, 'Group not found');
    });
  });
});
