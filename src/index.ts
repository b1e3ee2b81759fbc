/**
 * dpc-client: a TypeScript client for the CMS Data at the Point of Care (DPC) API.
 *
 * Every operation takes the client from {@link createClient} as its first argument. This list is written by hand:
 * anything not here is internal and may change. The `dpc` CLI and the embedded sandbox (`dpc-client/sandbox`) are
 * separate entry points.
 */

// ── FHIR STU3 types ──────────────────────────────────────────────────────────────────────────────────────────────

/** The FHIR STU3 resource types the operations take and return (`fhir3.Patient`, `fhir3.Group`...), from `@types/fhir`. */
export type * as fhir3 from 'fhir/r3.js';

// ── client ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** Create a client: one connection pool and one token manager. Close it with `client.close()`. */
export { createClient } from './client.js';
/** The client every operation takes; `DpcClientOptions` is what createClient accepts (base URL, credentials, hooks). */
export type { DpcClient, DpcClientOptions } from './client.js';
/** HTTP events reported to `DpcClientOptions.onEvent` (never carry secrets), and the transport behind `client.transport`. */
export type { TransportEvent, Transport } from './transport/transport.js';
/** How the client retries (`DpcClientOptions.retry`): attempts, backoff, which statuses. */
export type { RetryPolicy } from './transport/retry.js';
/** The retries of one logical request, shared by every layer that retries it, with a deadline (`client.transport.budget()`). */
export type { RetryBudget } from './transport/retry.js';
/** Token events reported to `DpcClientOptions.onEvent`, and the token manager behind `client.tokens`. */
export type { AuthEvent, TokenManager } from './auth/token-manager.js';
/** An access token as the token endpoint returned it (`client.tokens.exchange()`). */
export type { AccessToken } from './auth/exchange.js';
/** The token URL a generic SMART server announces (smart-configuration, else /metadata), for `DpcClientOptions.tokenUrl`. */
export { discoverTokenUrl } from './auth/discovery.js';
/** Masks secrets in text before it is printed: patterns (`redact`, `redactUrl`) and a client's own secrets (`client.redactor`). */
export { Redactor, redact, redactUrl } from './redact.js';
/** This package's version. */
export { VERSION } from './version.js';

// ── errors ───────────────────────────────────────────────────────────────────────────────────────────────────────

/** Every error the library throws on purpose: branch on its stable `code`; `field` names the option at fault. */
export { DpcError, isDpcError } from './errors.js';
/** The stable error codes and the options a DpcError carries (status, requestId, details, location, field). */
export type { ErrorCode, DpcErrorOptions } from './errors.js';

// ── auth: keys and assertions ────────────────────────────────────────────────────────────────────────────────────

/** Generate an RSA-4096 key pair (what DPC asks for). */
export { generateKeyPair } from './auth/keys.js';
/** A generated key pair. */
export type { GeneratedKeyPair, LoadKeyOptions } from './auth/keys.js';
/** Parse PEM keys (PKCS#1, PKCS#8, encrypted with a passphrase) with one-line errors naming the source. */
export { loadPrivateKey, loadPublicKey } from './auth/keys.js';
/** PEM text of a key: the private key for your files, the SPKI public key for DPC. */
export { privateKeyPem, publicKeyPem } from './auth/keys.js';
/** Sign DPC's fixed snippet ({@link DPC_SNIPPET}) with the private key: the signature uploadPublicKey needs. */
export { signSnippet, DPC_SNIPPET } from './auth/keys.js';
/** Check a client assertion's claims locally (audience, lifetime, jti...), each problem explained. */
export { checkAssertion } from './auth/assertion-check.js';
/** One failed claim of an assertion. */
export type { ClaimProblem } from './auth/assertion-check.js';
/** Ask DPC's `/Token/validate` about an assertion, plus the local checks. */
export { validateAssertion } from './auth/admin.js';
/** The answer of validateAssertion. */
export type { ValidationResult } from './auth/admin.js';

// ── keys: the organization's public keys ─────────────────────────────────────────────────────────────────────────

/** Register, list, read and delete the organization's public keys (`/Key`). */
export { uploadPublicKey, listPublicKeys, getPublicKey, deletePublicKey } from './auth/admin.js';
/** A public key as DPC stores it, and what uploadPublicKey takes. */
export type { PublicKeyEntity, UploadPublicKeyInput } from './auth/admin.js';

// ── tokens: the organization's client tokens ─────────────────────────────────────────────────────────────────────

/** Create, list, read and delete client tokens (`/Token`); a created token is added to `client.redactor`. */
export { createClientToken, listClientTokens, getClientToken, deleteClientToken } from './auth/admin.js';
/** A client token as DPC stores it, and what createClientToken takes. */
export type { ClientTokenEntity, CreateClientTokenInput } from './auth/admin.js';

// ── IP addresses: the organization's allow-list ──────────────────────────────────────────────────────────────────

/** List, add and delete the organization's allowed IP addresses (`/IpAddress`). */
export { listIpAddresses, addIpAddress, deleteIpAddress, MAX_IP_ADDRESSES } from './auth/ip-addresses.js';
/** Pure: what is wrong with an address for the allow-list (not a single IPv4/IPv6 address), checked before sending. */
export { ipAddressProblem } from './auth/ip-addresses.js';
/** An allowed IP address as DPC stores it. */
export type { IpAddressEntity } from './auth/ip-addresses.js';

// ── organization ─────────────────────────────────────────────────────────────────────────────────────────────────

/** The client token's organization. */
export { getOrganization } from './fhir/organization.js';
/** Read your organization by id, and replace it (`PUT /Organization/{id}`, profile-checked before sending; only your own). */
export { readOrganization, updateOrganization } from './fhir/organization.js';
/** Pure: an organization with a new name and/or address fields. */
export { applyOrganizationChanges } from './fhir/organization.js';
/** The name and address fields applyOrganizationChanges takes. */
export type { OrganizationChanges } from './fhir/organization.js';
/** What DPC's organization profile would reject (one NPI, one complete address), checked before sending. */
export { organizationProblems } from './fhir/validate.js';
/** The server's CapabilityStatement (`GET /metadata`, public; also how an open Bulk Data server is checked). */
export { getCapabilityStatement } from './fhir/metadata.js';

// ── doctor: does the set-up work? ────────────────────────────────────────────────────────────────────────────────

/** Every check of a set-up (config and key files, reachability, clock, credentials, key id), each with a fix: data only. */
export { runDoctor } from './doctor/probe.js';
/** What runDoctor takes. */
export type { DoctorInput } from './doctor/probe.js';
/** runDoctor's report: one result per check. */
export type { DoctorReport, CheckResult, CheckId, CheckStatus } from './doctor/checks.js';
/** `SHA256:<base64>` of a key's public half (SubjectPublicKeyInfo), as the doctor compares with `GET /Key/{id}`. */
export { keyFingerprint } from './doctor/probe.js';
/**
 * Prove credentials work: one token exchange, then `GET /Organization` with that token (DPC exchanges a JWT even for
 * a deleted client token). `checkCredentials` returns the outcome; `verifyCredentials` throws ERR_AUTH/ERR_UNAUTHORIZED.
 */
export { checkCredentials, verifyCredentials } from './doctor/credentials.js';
/** What checkCredentials returns. */
export type { CredentialsOutcome, CredentialsRefused } from './doctor/credentials.js';

// ── identifiers ──────────────────────────────────────────────────────────────────────────────────────────────────

/** Identifier systems of NPIs and MBIs, and DPC's checks of their values (NPI Luhn digit, MBI pattern). */
export { NPI_SYSTEM, MBI_SYSTEM, isValidNpi } from './shared/identifiers.js';
/** Whether an MBI matches DPC's pattern (blanks around it ignored), and its normal form (upper case). */
export { isValidMbi, normalizeMbi } from './fhir/validate.js';
/** The NPI of a Practitioner, the current MBI of a Patient. */
export { npiOf, mbiOf } from './fhir/resources.js';

// ── practitioners ────────────────────────────────────────────────────────────────────────────────────────────────

/** Register, list, find, read and delete practitioners (`/Practitioner`, `$submit` for many). */
export { createPractitioner, submitPractitioners, listPractitioners, findPractitionerByNpi, getPractitioner, deletePractitioner } from './fhir/practitioners.js';
/** A practitioner by NPI or DPC id. */
export { resolvePractitioner } from './fhir/lookup.js';
/** Build a DPC-profile Practitioner from plain fields. */
export { buildPractitioner } from './fhir/resources.js';
/** The plain fields of a practitioner. */
export type { PractitionerInput } from './fhir/resources.js';
/** What DPC's practitioner profile would reject, checked before sending. */
export { practitionerProblems } from './fhir/validate.js';

// ── patients ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** Register, list, find, read and delete patients (`/Patient`, `$submit` for many). */
export { createPatient, submitPatients, listPatients, findPatientByMbi, getPatient, deletePatient } from './fhir/patients.js';
/** A patient by MBI or DPC id. */
export { resolvePatient } from './fhir/lookup.js';
/** Build a DPC-profile Patient from plain fields. */
export { buildPatient } from './fhir/resources.js';
/** The plain fields of a patient. */
export type { PatientInput } from './fhir/resources.js';
/** What DPC's patient profile would reject, checked before sending. */
export { patientProblems } from './fhir/validate.js';
/** Demographic fixes (`PUT /Patient/{id}`; DPC changes only names, birth date and gender), profile-checked first. */
export { updatePatient } from './fhir/patients.js';
/** Pure: a patient with new first/last name, birth date or gender. */
export { applyPatientChanges } from './fhir/patients.js';
/** The fields applyPatientChanges takes. */
export type { PatientChanges } from './fhir/patients.js';
/** DPC's own profile check of a Practitioner or Patient (`$validate`, stores nothing), and the errors of its answer. */
export { validateOnServer, outcomeErrors } from './fhir/server-validate.js';
/** The genders DPC accepts. */
export { GENDERS } from './fhir/validate.js';
/** One of {@link GENDERS}. */
export type { Gender } from './fhir/validate.js';

// ── point of care: one patient's data ───────────────────────────────────────────────────────────────────────────

/** The patient, practitioner and attestation of a point-of-care request (identifiers checked before sending). */
export { pointOfCare } from './fhir/everything.js';
/** One patient's data now (`Patient/{id}/$everything`, X-Provenance required). */
export { patientEverything } from './fhir/everything.js';
/** Pure: what a patient's data holds (resources per type, claims and their date range), from a Bundle or NDJSON files. */
export { summariseEverything, summariseEverythingFiles } from './fhir/everything.js';
/** What pointOfCare returns, patientEverything takes, and the summaries return. */
export type { PointOfCare, EverythingOptions, EverythingSummary } from './fhir/everything.js';

// ── groups: attribution ──────────────────────────────────────────────────────────────────────────────────────────

/** Attribution groups (`/Group`): one per practitioner, its members the attributed patients. */
export { createGroup, listGroups, findGroupByNpi, getGroup, addMembers, removeMembers, replaceGroup, deleteGroup } from './fhir/groups.js';
/** A group by practitioner NPI or group id. */
export { resolveGroup } from './fhir/lookup.js';
/** The X-Provenance attestation that group writes need, built from its parts or looked up for a practitioner. */
export { buildAttestation } from './fhir/provenance.js';
/** The attestation for a group of this practitioner, with the organization id looked up when not given. */
export { attestationFor } from './fhir/lookup.js';
/** The parts of an attestation. */
export type { AttestationInput } from './fhir/provenance.js';
/** What group writes take: NPI and patient ids, with the attestation where DPC requires one. */
export type { MembersChange, AttestedChange } from './fhir/groups.js';

// ── roster: files, sync and the 90-day re-attribution ────────────────────────────────────────────────────────────

/** Parse and validate a roster CSV (`mbi,npi[,given,family,birthDate,gender]`), every bad row reported. */
export { parseRoster, MAX_MEMBERS_PER_GROUP } from './roster/roster-file.js';
/** Read a roster file as Excel and practice systems save it (UTF-8, or UTF-16 with a BOM), bounded in size. */
export { readRosterFile, MAX_ROSTER_BYTES } from './roster/read.js';
/** A parsed roster and its rows. */
export type { ParsedRoster, RosterRow } from './roster/roster-file.js';
/** Make DPC's groups match a roster: plan, then apply (or stop at the plan with `dryRun`). */
export { syncRoster } from './roster/sync.js';
/** What syncRoster takes and returns. */
export type { RosterInput, JsonSource, SyncOptions, SyncOutcome } from './roster/sync.js';
/** The plan of a sync and the result of applying it. */
export type { SyncPlan, PractitionerPlan, PlanMember } from './roster/plan.js';
/** Progress of applying a plan, and its result. */
export type { SyncEvent, SyncResult, GroupChange } from './roster/apply.js';
/** A sync or renewal that failed part way: the server's error, with what had been applied (`applied`) and a report in `details`. */
export { PartlyAppliedError } from './roster/steps.js';
/** Groups whose members' 90-day attribution ends soon, and renewing them. */
export { findExpiring, renewExpiring } from './roster/renew.js';
/** What renewExpiring takes. */
export type { RenewOptions } from './roster/renew.js';
/** Pure: the members of groups ending within a window. */
export { expiringMembers } from './roster/expiry.js';
/** A group's ending members, and the window they are measured in. */
export type { ExpiringGroup, ExpiringMember, ExpiryWindow, MemberStatus } from './roster/expiry.js';

// ── export: verified Bulk Data ───────────────────────────────────────────────────────────────────────────────────

/** Run a Bulk Data export end to end: kick off, poll, download and verify every file, write a manifest, resume. */
export { runExport } from './export/run.js';
/** What runExport takes and returns. */
export type { ExportRunOptions, ExportRunResult, ExportTarget, GroupResult, GroupManifest, QuarantinedFile } from './export/run.js';
/** The one error that sums up a run's outcome (partial, failed), or undefined when every group succeeded. */
export { runOutcomeError } from './export/run.js';
/** Status of a running or finished export job, by job URL or export folder. */
export { exportStatus } from './export/existing.js';
/** Download (or resume) an existing job into a folder. */
export { downloadExisting } from './export/existing.js';
/** What exportStatus returns and downloadExisting takes. */
export type { JobStatusReport, DownloadExistingOptions } from './export/existing.js';
/** Cancel a job on the server (DELETE on its status URL), by job URL or every unfinished job of an export folder. */
export { cancelExport } from './export/cancel.js';
/** What cancelExport returns per job. */
export type { CancelReport } from './export/cancel.js';
/** Re-check an export folder against its manifests (sizes, counts, checksums). */
export { verifyExportDir } from './export/verify.js';
/** What verifyExportDir takes and returns. */
export type { VerifyOptions, VerifyReport, VerifiedEntry } from './export/verify.js';
/** The manifest's file name in each export folder. */
export { MANIFEST_FILE } from './export/layout.js';
/** The job status poll interval runExport uses unless told otherwise. */
export { DEFAULT_POLL_INTERVAL_MS } from './export/job.js';
/** `ExportRunOptions.maxWaitMs` unless told otherwise: 24 h, DPC's job lifetime. */
export { DEFAULT_MAX_WAIT_MS } from './export/deadline.js';
/** `ExportRunOptions.maxFileBytes` unless told otherwise: 4 GiB uncompressed. */
export { DEFAULT_MAX_FILE_BYTES } from './export/download.js';
/** The scope of an export: a group, all patients, or the system. */
export type { ExportScope } from './export/job.js';
/** Kick-off parameters generic Bulk Data servers take (`_elements`, `_typeFilter`, `patient` by POST, `includeAssociatedData`). */
export type { BulkDataParameters } from './export/job.js';
/** Progress of an export, reported to `onEvent` (SMART Bulk Data vocabulary). */
export type { ExportEvent, ExportEventHandler } from './export/events.js';
/** The patients a job could not export, counted by reason; and errors that name no patient, by the server's message. */
export type { ErrorSummary, ErrorReason, ServerMessage } from './export/outcomes.js';

// ── claims as tables (Parquet, SQL on the optional DuckDB engine) ───────────────────────────────────────────────

/**
 * Write the verified files of an export as Parquet tables (patients, coverage, claims, claim_lines, diagnoses,
 * procedures, raw_<type>); a rerun adds newer runs, one row per resource id (latest meta.lastUpdated wins).
 * Needs the optional dependency `@duckdb/node-api` (ERR_ENGINE without it).
 */
export { exportTables } from './tables/build.js';
/** What exportTables takes and returns, and the progress it reports. */
export type { ExportTablesOptions, ExportTablesResult, TableInfo, TablesEvent, TablesRun } from './tables/build.js';
/** Run SQL over an export's tables (each table a view), building or refreshing them first for an export folder. */
export { queryExport } from './tables/query.js';
/** What queryExport takes and returns: typed columns, JSON-safe values (DECIMAL and BIGINT as exact strings). */
export type { QueryColumn, QueryOptions, QueryResult, QueryValue } from './tables/query.js';
/** DuckDB memory limit, threads and module, for exportTables and queryExport. */
export type { EngineOptions } from './tables/engine.js';
/** A file exportTables did not read: not listed as verified, or changed or missing since. */
export type { ExcludedFile } from './tables/sources.js';
/** The flat tables' columns, each with its type and the FHIR path it comes from (the README's schema). */
export { FLAT_TABLES } from './tables/flat.js';
/** One flat table and one of its columns. */
export type { FlatColumn, FlatTable } from './tables/flat.js';
