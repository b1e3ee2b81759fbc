export * from './settings.js';
export * from './file.js';
