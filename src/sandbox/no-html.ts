/**
 * DPC's `@NoHtml` constraint (dpc-common hibernate/validator/NoHtmlValidator.java, utils/XSSSanitizerUtil.java): a
 * value is refused when Jsoup's `clean(value, Safelist.none())` would change it. Pure functions over strings.
 */
import { constraintViolations } from './http.js';

/** Java's `\s`: the whitespace around an `&` that the validator lets through ("Smith & Sons"). */
const SPACED_AMPERSAND = /[ \t\n\v\f\r]&[ \t\n\v\f\r]/g;
/** StringUtils.isBlank: only Java's Character.isWhitespace, which leaves out the no-break spaces. */
const BLANK = /^[\t\n\v\f\r \u001c-\u001f\u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000]*$/;

/**
 * True when Jsoup would change the value. Jsoup drops every tag and escapes `<`, `>`, `&` and U+00A0 in text, so the
 * only markup that survives a clean unchanged is what it writes itself: `&amp;`, `&lt;`, `&gt;` and `&nbsp;`.
 * Blank values are valid (StringUtils.isBlank).
 */
export function containsHtml(value: string | null | undefined): boolean {
  if (value === null || value === undefined || BLANK.test(value)) return false;
  const spaced = value.replace(SPACED_AMPERSAND, '   ');
  // XSSSanitizerUtil replaces the spaced ampersands a second time before cleaning, and the validator compares the
  // result with the once-replaced text ("a & & b" is refused)
  if (spaced.replace(SPACED_AMPERSAND, '   ') !== spaced) return true;
  return /[<>&\u00a0]/.test(spaced.replace(/&(amp|lt|gt|nbsp);/g, ''));
}

type Named = ReadonlyArray<readonly [name: string, value: string | null | undefined]>;

/** The `@NoHtml` violation of each named value that holds markup, as ConstraintMessage words it. */
export function noHtmlViolations(params: Named): string[] {
  return params.filter(([, value]) => containsHtml(value)).map(([name]) => `${name} Cannot contain HTML`);
}

/**
 * Parameter constraints: a 400 naming each `@NoHtml` parameter whose value holds markup. The name is what Dropwizard's
 * JerseyParameterNameProvider reads off the abstract resource method that declares the constraint: `query param _since`
 * where that declaration has `@QueryParam`, else Java's `argN` (N counts the method's parameters, the principal too).
 * A request body's constraint is a 422 (`status`), named by its field or "The request body".
 */
export function checkNoHtml(params: Named, status: 400 | 422 = 400): void {
  const messages = noHtmlViolations(params);
  if (messages.length > 0) throw constraintViolations(status, messages);
}
