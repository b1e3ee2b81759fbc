export * from './keys.js';
export * from './assertion.js';
export * from './assertion-check.js';
export * from './exchange.js';
export * from './token-manager.js';
export * from './admin.js';
export * from './ip-addresses.js';
