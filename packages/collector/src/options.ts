/**
 * The collector's options: the one option parser of both programs (@clockwatch/shared/node
 * options.ts: flags > env > file > defaults, typed values, one ConfigError).
 */
export * from '@clockwatch/shared/node';
