export * from './transport.js';
export * from './negotiation.js';
export * from './retry.js';
export { parseHttpDate, serverNow } from './http-date.js';
export { parseErrorBody, serverText } from './error-body.js';
