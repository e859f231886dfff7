export * from './source.js';
export * from './command-runner.js';
export * from './check.js';
export * from './audit.js';
