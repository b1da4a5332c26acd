// runtime/transforms behind the worker's TransformSupport hook: the pumps run its chains, the
// validate operation reports its per-key problems, the plugin list shows its transforms and
// predicates.

import {
  buildTransformChain,
  transformPluginInfos,
  validateTransformConfig,
} from '../transforms/index.ts';
import type { TransformSupport } from './transform-chain.ts';

export const smtTransformSupport: TransformSupport = {
  problems: (config) => validateTransformConfig(config),
  build: (config) => buildTransformChain(config),
  plugins: () => transformPluginInfos(),
};
