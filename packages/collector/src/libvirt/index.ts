export * from './source.js';
export * from './command-runner.js';
