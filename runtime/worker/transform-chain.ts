// The single-message-transform hook of the pumps. The worker only knows this narrow interface:
// per-key validation of the transforms.* / predicates.* keys, building a chain for a task, and the
// installed plugins. runtime/transforms implements it (wired in worker-runtime.ts); `noTransforms`
// is the identity that refuses any configured transform, for runtimes built without that module
// (a silently skipped filter or router would deliver wrong data, so nothing is ever ignored).

import type { FieldError, ParsedConfig } from '../api/config.ts';
import type { ConnectRecord } from '../api/record.ts';
import type { PluginInfo } from '../herder/herder.ts';

export interface TransformChain {
  /** True when records pass through untouched (the pumps skip the per-record loop). */
  readonly identity: boolean;
  /** The transformed record, or null to drop it. Synchronous: it runs per record on the hot path. */
  readonly apply: <R extends ConnectRecord>(record: R) => R | null;
  close(): void;
}

export interface TransformSupport {
  /** Every problem with the transforms.* and predicates.* keys, per key; [] when build() works. */
  problems(config: ParsedConfig): FieldError[];
  /** The chain a task runs; throws when problems() is not empty. */
  build(config: ParsedConfig): TransformChain;
  /** For GET /connector-plugins?connectorsOnly=false. */
  plugins(): PluginInfo[];
}

export const identityChain: TransformChain = {
  identity: true,
  apply: (record) => record,
  close: () => {},
};

function configuredAliases(config: ParsedConfig): string[] {
  const value = config.transforms;
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return list.map((alias) => alias.trim()).filter((alias) => alias !== '');
}

/** No transform installed: the identity chain, and a validation error for any configured one. */
export const noTransforms: TransformSupport = {
  problems(config) {
    return configuredAliases(config).map((alias) => {
      const key = `transforms.${alias}.type`;
      const type = config[key];
      return typeof type === 'string' && type !== ''
        ? {
            field: key,
            message: `Invalid value ${type} for configuration ${key}: Class ${type} could not be found. No transformations are installed in this worker.`,
          }
        : {
            field: key,
            message: `Missing required configuration "${key}" which has no default value.`,
          };
    });
  },
  build(config) {
    const problems = noTransforms.problems(config);
    if (problems.length > 0) throw new Error(problems.map((problem) => problem.message).join('; '));
    return identityChain;
  },
  plugins: () => [],
};
