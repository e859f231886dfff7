export * from './source.js';
export * from './command-runner.js';
export * from './audit.js';
