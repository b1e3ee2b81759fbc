/** What every route can reach: the data, the clock, the URLs, faults and the export engine. */
import type { SandboxClock } from './clock.js';
import type { ExportService, SandboxFaults } from './export/contract.js';
import type { JtiCache } from './jti.js';
import type { Store } from './state.js';

export interface App {
  store: Store;
  clock: SandboxClock;
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
