/**
 * FHIR identifier rules and system URLs that both the client (checks before sending) and the embedded sandbox
 * (the server's own checks) apply. One copy, so the two sides cannot drift. Imports nothing.
 */

/** `Practitioner.identifier.system` / `Organization.identifier.system` of a National Provider Identifier. */
export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
/** `Patient.identifier.system` of a Medicare Beneficiary Identifier. */
export const MBI_SYSTEM = 'http://hl7.org/fhir/sid/us-mbi';
/** Extension on an MBI identifier marking it `current` or `historic` (Blue Button). */
export const MBI_CURRENCY_SYSTEM = 'https://bluebutton.cms.gov/resources/codesystem/identifier-currency';
/** Blue Button's hashed-MBI identifier system, as found in exported Patient resources. */
export const MBI_HASH_SYSTEM = 'https://bluebutton.cms.gov/resources/identifier/mbi-hash';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** DPC ids (key, token, job, patient, …) are UUIDs: Java `UUID` parameters and `UUID.randomUUID()` ids. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

// DPC: common/.../PatientEntity.java — the MBI pattern; the server stores MBIs upper-cased
const MBI_PATTERN = /^\d[a-zA-Z][a-zA-Z0-9]\d[a-zA-Z][a-zA-Z0-9]\d[a-zA-Z]{2}\d{2}$/;

/** NPI: 10 digits whose last is the Luhn check digit over the card-issuer prefix 80840 plus the first nine. */
export function isValidNpi(value: string): boolean {
  if (!/^\d{10}$/.test(value)) return false;
  return luhnValid(`80840${value}`);
}

/** Whether `value` matches DPC's MBI pattern exactly (no trimming: the server does none). */
export function matchesMbiPattern(value: string): boolean {
  return MBI_PATTERN.test(value);
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
