// Comparing task config sets: a connector's new task configs are stored (and its tasks restarted)
// only when they differ from the committed ones.

import type { RawConfig } from '../api/config.ts';

export function sameConfigs(a: readonly RawConfig[], b: readonly RawConfig[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((config, i) => {
    const other = b[i]!;
    const keys = Object.keys(config);
    return (
      keys.length === Object.keys(other).length && keys.every((key) => config[key] === other[key])
    );
  });
}
