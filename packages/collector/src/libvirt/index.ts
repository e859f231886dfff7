export * from './source.js';
export * from './command-runner.js';
export * from './audit.js';
export * from './host-audit.js';
export * from './host-audit-read.js';
export * from './agentless.js';
