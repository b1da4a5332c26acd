// The single-message-transform module's public surface: build a chain from a connector config,
// validate that config per key, and list the plugins. Everything else is internal.

export { buildTransformChain, transformPluginInfos, validateTransformConfig } from './chain.ts';
export type { TransformChain, TransformConfigInput } from './chain.ts';
export { TransformConfigError, TransformDataError } from './errors.ts';
export { SmtRegistry, builtinTransforms, defaultSmtRegistry } from './registry.ts';
export { builtinPredicates } from './predicates.ts';
export type {
  PredicatePlugin,
  RecordPredicate,
  RecordTransform,
  SmtPlugin,
  TransformPlugin,
} from './types.ts';
export { OptionReader } from './options.ts';
