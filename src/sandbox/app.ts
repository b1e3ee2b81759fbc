/** What every route can reach: the data, the clock, the URLs, faults and the export engine. */
import type { SandboxClock } from './clock.js';
import type { ExportService, SandboxFaults } from './export/contract.js';
import type { JtiCache } from './jti.js';
import type { Store } from './state.js';

export interface App {
  store: Store;
  /** Attribution periods, job expiry, timestamps: what `/__admin/clock` moves. */
  clock: SandboxClock;
  /**
   * JWT and token checks (assertion exp, jti window, client- and access-token expiry). Real time, apart from the
   * sandbox clock, because clients sign assertions with their own real clock: moving the sandbox clock must not log
   * them out. Tests move it to expire tokens.
   */
  authClock: SandboxClock;
  /** `http://host:port/api/v1` */
  baseUrl: string;
  /** The exact `aud` /Token/auth requires. */
  authUrl: string;
  jtis: JtiCache;
  faults(): SandboxFaults;
  exportService: ExportService;
  patientLimit: number;
  testMode: boolean;
}
