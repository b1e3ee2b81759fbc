/**
 * DPC's JSON (not FHIR) answers of /Token, /Key and /IpAddress: one entity, or a collection `{entities: [...]}`
 * (server behaviour §1.3, §2, §11.3). Their shape is checked before anything walks or prints them: a server is
 * untrusted input.
 */
import { DpcError } from '../errors.js';
import { isObject, kindOf } from '../json.js';

/** `body` as one entity (a JSON object with a string `id`), or ERR_HTTP naming what `request` answered instead. Pure. */
export function entityIn<T>(body: unknown, request: string): T {
  if (!isObject(body)) throw notExpected(request, `${kindOf(body)}, not an entity`);
  if (typeof body.id !== 'string') throw notExpected(request, `an entity whose id is ${kindOf(body.id)}`);
  return body as T;
}

/** The entities of a collection answer (none when it lists none), each checked as by `entityIn`. Pure. */
export function entitiesIn<T>(body: unknown, request: string): T[] {
  if (body === undefined) return [];
  if (!isObject(body)) throw notExpected(request, `${kindOf(body)}, not a collection`);
  const entities = body.entities ?? [];
  if (!Array.isArray(entities)) throw notExpected(request, `a collection whose "entities" is ${kindOf(entities)}, not an array`);
  return entities.map((entity, i) => entityIn<T>(entity, `${request} entities[${i}]`));
}

function notExpected(request: string, what: string): DpcError {
  return new DpcError('ERR_HTTP', `${request} answered ${what}`, { location: request });
}
