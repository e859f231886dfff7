/**
 * @clockwatch/shared/node — the node-side edges both programs use, kept apart from the pure core
 * (which has no Node types and so cannot reach I/O).
 */
export * from './runner.js';
export * from './wall-clock.js';
export * from './durable-write.js';
export * from './options.js';
