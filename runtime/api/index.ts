// The only surface connectors import. Everything here is a stable contract: adding optional
// members is fine, changing or removing one breaks connectors.

export * from './config.ts';
export * from './connector.ts';
export * from './errors.ts';
export * from './logger.ts';
export * from './record.ts';
export * from './sink-task.ts';
export * from './source-task.ts';
