export * from './transport.js';
export * from './negotiation.js';
export * from './retry.js';
export { parseErrorBody, serverText } from './error-body.js';
