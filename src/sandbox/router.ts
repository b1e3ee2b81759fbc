/**
 * A minimal method + path router. Each route declares its flavour (FHIR or JSON, which decides the error
 * shape and the negotiation rules), whether it needs an access token, and what it produces/consumes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from './app.js';
import type { Flavor, Reply } from './http.js';
import type { PathAuthorized } from './path-authorizer.js';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface Ctx {
  app: App;
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** The caller's organization (authenticated routes only; '' on public ones). */
  orgId: string;
  /** The request body, read once. */
  body(): Promise<Buffer>;
}

export interface Route {
  methods: readonly Method[];
  /** Path below the API base, e.g. `/Group/:id/$add`. */
  path: string;
  flavor: Flavor;
  /** Public routes need no access token. */
  public?: boolean;
  /** DPC `@PathAuthorizer`: the `:id` must name a resource of this type in the caller's organization (checked with auth). */
  pathAuthorizer?: PathAuthorized;
  /** `:id` is a Java `UUID` method parameter: Jersey answers anything else with its plain 404 before the method runs. */
  uuidId?: boolean;
  /**
   * DPC `@AdminOperation`: AdminAuthFilter lets only the golden macaroon through (DPC: auth/filters/AdminAuthFilter.java),
   * which no client holds (the sandbox's portal role is `/__admin`), so every caller gets the auth filter's 401.
   */
  adminOnly?: boolean;
  /** JSON routes: media types the response may take (406 otherwise). Default application/json. */
  produces?: readonly string[];
  /** JSON routes: the media type a request body must have (415 otherwise). Default application/json. */
  consumes?: string;
  /** A handler either returns a Reply or writes the response itself and returns nothing. */
  handler(ctx: Ctx): Promise<Reply | void> | Reply | void;
}

interface Compiled {
  route: Route;
  pattern: RegExp;
  names: string[];
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .split('/')
        .map((segment) => {
          if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          names.push(segment.slice(1));
          return '([^/]+)';
        })
        .join('/');
      return { route, pattern: new RegExp(`^${source}$`), names };
    });
  }

  /**
   * The route for a path: `route` undefined when nothing matches; then `allowed` lists the methods the path does take
   * (empty for an unknown path), HEAD included wherever GET is.
   */
  match(method: string, path: string): { route?: Route; params: Record<string, string>; allowed: Method[] } {
    const allowed = new Set<Method>();
    for (const { route, pattern, names } of this.compiled) {
      const m = pattern.exec(path);
      if (!m) continue;
      for (const known of route.methods) allowed.add(known);
      if (route.methods.includes('GET')) allowed.add('HEAD');
      // JAX-RS answers HEAD with a resource's GET method when it has no HEAD of its own (Node drops the body).
      const head = method === 'HEAD' && route.methods.includes('GET');
      if (!route.methods.includes(method as Method) && !head) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]!);
      });
      return { route, params, allowed: [...allowed] };
    }
    return { params: {}, allowed: [...allowed] };
  }
}
