// The transforms and predicates this worker ships, found by class name or alias, and listed for
// GET /connector-plugins?connectorsOnly=false.

import type { PluginInfo } from '../herder/herder.ts';
import { extractNewRecordState } from './extract-new-record-state.ts';
import { filter, filterByOperation } from './filter.ts';
import { insertFieldKey, insertFieldValue } from './insert-field.ts';
import { maskFieldKey, maskFieldValue } from './mask-field.ts';
import { builtinPredicates } from './predicates.ts';
import { regexRouter } from './regex-router.ts';
import { replaceFieldKey, replaceFieldValue } from './replace-field.ts';
import { timestampConverterKey, timestampConverterValue } from './timestamp-converter.ts';
import type { PredicatePlugin, SmtPlugin, TransformPlugin } from './types.ts';

export const builtinTransforms: readonly TransformPlugin[] = [
  extractNewRecordState,
  regexRouter,
  filter,
  filterByOperation,
  replaceFieldKey,
  replaceFieldValue,
  maskFieldKey,
  maskFieldValue,
  insertFieldKey,
  insertFieldValue,
  timestampConverterKey,
  timestampConverterValue,
];

export class SmtRegistry {
  private readonly byName = new Map<string, SmtPlugin>();
  /** `ReplaceField` and its class name: abstract in Kafka Connect; the $Key/$Value variants. */
  private readonly variants = new Map<string, string[]>();

  constructor(
    readonly transforms: readonly TransformPlugin[] = builtinTransforms,
    readonly predicates: readonly PredicatePlugin[] = builtinPredicates,
  ) {
    for (const plugin of [...transforms, ...predicates]) {
      for (const name of [plugin.className, ...plugin.aliases]) {
        const existing = this.byName.get(name);
        if (existing && existing !== plugin) {
          throw new Error(
            `SMT name "${name}" is claimed by ${existing.className} and ${plugin.className}`,
          );
        }
        this.byName.set(name, plugin);
      }
      const variant = /^(.*)\$(Key|Value)$/.exec(plugin.className);
      if (variant) {
        const base = variant[1]!;
        for (const name of [base, base.slice(base.lastIndexOf('.') + 1)]) {
          this.variants.set(name, [...(this.variants.get(name) ?? []), plugin.className]);
        }
      }
    }
  }

  find(name: string): SmtPlugin | undefined {
    return this.byName.get(name.trim());
  }

  /** For `ReplaceField` (no $Key/$Value): the concrete classes the user probably meant. */
  variantsOf(name: string): readonly string[] {
    return this.variants.get(name.trim()) ?? [];
  }

  /** Kafka Connect's PluginInfo entries, by class name. */
  pluginInfos(): PluginInfo[] {
    return [...this.transforms, ...this.predicates]
      .map((plugin) => ({ class: plugin.className, type: plugin.kind, version: plugin.version }))
      .sort((a, b) => (a.class < b.class ? -1 : a.class > b.class ? 1 : 0));
  }
}

export const defaultSmtRegistry = new SmtRegistry();
