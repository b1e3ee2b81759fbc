import type { CommandModule } from 'yargs';
import { initCommand } from './init.js';
import { authCommand } from './auth.js';
import { keysCommand } from './keys.js';
import { tokensCommand } from './tokens.js';
import { ipCommand } from './ip.js';
import { exportCommand } from './export.js';
import { orgCommand } from './org.js';
import { practitionerCommand } from './practitioner.js';
import { patientCommand } from './patient.js';
import { groupCommand } from './group.js';
import { rosterCommand } from './roster.js';
import { sandboxCommand } from './sandbox.js';
import { demoCommand } from './demo.js';
import { queryCommand } from './tables.js';
// One line per command module. Each module keeps its imports of library code lazy (inside handlers)
// so that `dpc --version` and `dpc --help` stay fast.
export const commands: CommandModule<any, any>[] = [
  initCommand,
  authCommand,
  keysCommand,
  tokensCommand,
  ipCommand,
  exportCommand,
  orgCommand,
  practitionerCommand,
  patientCommand,
  groupCommand,
  rosterCommand,
  sandboxCommand,
  demoCommand,
  queryCommand,
];
