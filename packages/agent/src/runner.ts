/** The command runners live in @clockwatch/shared/node (one home for both programs). */
export { createCommandRunner, createReplayRunner, recordingName, type CommandRunnerOptions } from '@clockwatch/shared/node';
