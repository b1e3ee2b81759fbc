/** Every API route, most specific first (the router takes the first match). */
import type { Route } from '../router.js';
import { definitionRoutes } from './definitions.js';
import { exportRoutes } from './export.js';
import { groupRoutes } from './group.js';
import { ipAddressRoutes } from './ip-address.js';
import { keyRoutes } from './key.js';
import { organizationRoutes } from './organization.js';
import { patientRoutes } from './patient.js';
import { patientDataRoutes } from './patient-data.js';
import { practitionerRoutes } from './practitioner.js';
import { tokenRoutes } from './token.js';

export const apiRoutes: Route[] = [
  ...tokenRoutes,
  ...keyRoutes,
  ...ipAddressRoutes,
  ...organizationRoutes,
  ...definitionRoutes,
  ...practitionerRoutes,
  ...patientDataRoutes,
  ...patientRoutes,
  ...exportRoutes,
  ...groupRoutes,
];
