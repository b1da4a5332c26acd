// Kafka Connect's transform configuration (`transforms=a,b`, `transforms.a.type=…`,
// `transforms.a.<option>=…`, `transforms.a.predicate=p`, `transforms.a.negate=true`,
// `predicates=p`, `predicates.p.type=…`) turned into one chain function, built once per task.
// Validation and building share one code path, so a config that validates always builds and
// every problem is reported against the key it is about.

import type { FieldError } from '../api/config.ts';
import { errorMessage } from '../api/errors.ts';
import type { ConnectRecord } from '../api/record.ts';
import { TransformConfigError, TransformDataError } from './errors.ts';
import { OptionReader } from './options.ts';
import { defaultSmtRegistry } from './registry.ts';
import type { SmtRegistry } from './registry.ts';
import type { PluginInfo } from '../herder/herder.ts';
import type { RecordPredicate, RecordTransform, SmtPlugin } from './types.ts';

/**
 * A connector config: the raw string map, or the parsed one the runtime's config validation
 * produces (where `transforms` may already be a list).
 */
export type TransformConfigInput = Readonly<
  Record<string, string | number | boolean | readonly string[] | undefined>
>;

export interface TransformChain {
  /** True when no transform is configured: records pass untouched (callers may skip the call). */
  readonly identity: boolean;
  /** The transform aliases, in the order they run. */
  readonly aliases: readonly string[];
  /**
   * The chain as one pure function: the transformed record, or null when a transform dropped it.
   * The input record is never modified. A property, not a method: it can be passed around alone.
   * Throws TransformDataError (not retriable) when a transform cannot handle the record.
   */
  readonly apply: <R extends ConnectRecord>(record: R) => R | null;
  close(): void;
}

interface Step {
  readonly alias: string;
  readonly className: string;
  readonly transform: RecordTransform;
  readonly predicate: RecordPredicate | undefined;
  readonly negate: boolean;
}

const RESERVED_TRANSFORM_OPTIONS = new Set(['type', 'predicate', 'negate']);

function text(value: TransformConfigInput[string]): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

function aliasList(config: TransformConfigInput, key: string, errors: FieldError[]): string[] {
  const value = config[key];
  const items = (
    Array.isArray(value) ? [...(value as readonly string[])] : (text(value) ?? '').split(',')
  )
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (new Set(items).size !== items.length) {
    errors.push({
      field: key,
      message: `Invalid value ${text(value) ?? ''} for configuration ${key}: Duplicate alias provided.`,
    });
  }
  return [...new Set(items)];
}

/** The options under a prefix, as strings, without the prefix. */
function optionsUnder(config: TransformConfigInput, prefix: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const key of Object.keys(config)) {
    if (!key.startsWith(prefix)) continue;
    const value = text(config[key]);
    if (value !== undefined) options[key.slice(prefix.length)] = value;
  }
  return options;
}

function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return false;
  const normalized = value.trim().toLowerCase();
  if (normalized === 'true') return true;
  if (normalized === 'false') return false;
  return undefined;
}

/** The plugin named in `<prefix>type`, or an error on that key. */
function pluginFor(
  registry: SmtRegistry,
  kind: SmtPlugin['kind'],
  prefix: string,
  type: string | undefined,
  errors: FieldError[],
): SmtPlugin | undefined {
  const key = `${prefix}type`;
  const label = kind === 'transformation' ? 'Transformation' : 'Predicate';
  if (type === undefined || type.trim() === '') {
    errors.push({
      field: key,
      message: `Missing required configuration "${key}" which has no default value.`,
    });
    return undefined;
  }
  const plugin = registry.find(type);
  if (plugin?.kind === kind) return plugin;
  let reason: string;
  if (plugin !== undefined) {
    reason = `Not a ${label}`;
  } else if (registry.variantsOf(type).length > 0) {
    reason = `${label} is abstract and cannot be created. Did you mean ${registry.variantsOf(type).join(', ')}?`;
  } else {
    const available = (kind === 'transformation' ? registry.transforms : registry.predicates)
      .map((candidate) => candidate.className)
      .join(', ');
    reason = `Class ${type} could not be found. Available ${kind === 'transformation' ? 'transformations' : 'predicates'}: ${available}`;
  }
  errors.push({ field: key, message: `Invalid value ${type} for configuration ${key}: ${reason}` });
  return undefined;
}

function configure(
  config: TransformConfigInput,
  registry: SmtRegistry,
): { steps: Step[]; aliases: string[]; errors: FieldError[] } {
  const errors: FieldError[] = [];

  const predicates = new Map<string, RecordPredicate | undefined>();
  for (const alias of aliasList(config, 'predicates', errors)) {
    const prefix = `predicates.${alias}.`;
    const options = optionsUnder(config, prefix);
    const plugin = pluginFor(registry, 'predicate', prefix, options.type, errors);
    if (plugin?.kind !== 'predicate') {
      predicates.set(alias, undefined);
      continue;
    }
    const { type: _type, ...own } = options;
    const before = errors.length;
    const predicate = plugin.create(new OptionReader(own, prefix, errors));
    predicates.set(alias, errors.length === before ? predicate : undefined);
  }

  const aliases = aliasList(config, 'transforms', errors);
  const steps: Step[] = [];
  for (const alias of aliases) {
    const prefix = `transforms.${alias}.`;
    const options = optionsUnder(config, prefix);
    const plugin = pluginFor(registry, 'transformation', prefix, options.type, errors);

    const predicateAlias = options.predicate?.trim() ?? '';
    const negate = parseBoolean(options.negate);
    if (negate === undefined) {
      errors.push({
        field: `${prefix}negate`,
        message: `Invalid value ${options.negate} for configuration ${prefix}negate: Expected value to be either true or false`,
      });
    }
    if (options.negate !== undefined && predicateAlias === '') {
      errors.push({
        field: `${prefix}negate`,
        message: `Config '${prefix}negate' was provided but there is no config '${prefix}predicate' defining a predicate to be negated.`,
      });
    }
    if (predicateAlias !== '' && !predicates.has(predicateAlias)) {
      errors.push({
        field: `${prefix}predicate`,
        message: `Invalid value ${predicateAlias} for configuration ${prefix}predicate: no predicate "${predicateAlias}" is listed in "predicates".`,
      });
    }
    if (plugin?.kind !== 'transformation') continue;

    const own: Record<string, string> = {};
    for (const [name, value] of Object.entries(options)) {
      if (!RESERVED_TRANSFORM_OPTIONS.has(name)) own[name] = value;
    }
    const transform = plugin.create(new OptionReader(own, prefix, errors));
    steps.push({
      alias,
      className: plugin.className,
      transform,
      predicate: predicateAlias === '' ? undefined : predicates.get(predicateAlias),
      negate: negate === true,
    });
  }
  return { steps, aliases, errors };
}

/**
 * Every problem with the `transforms` and `predicates` keys of a connector config, per key:
 * unknown or abstract types, missing required options, invalid values and regexes, predicates
 * that are not defined. Empty when buildTransformChain will succeed.
 */
export function validateTransformConfig(
  config: TransformConfigInput,
  registry: SmtRegistry = defaultSmtRegistry,
): FieldError[] {
  return configure(config, registry).errors;
}

const identityApply = <R extends ConnectRecord>(record: R): R | null => record;

/**
 * Build the chain once (patterns compiled, options parsed); apply it per record. Throws
 * TransformConfigError, carrying every FieldError, when the config is invalid.
 */
export function buildTransformChain(
  config: TransformConfigInput,
  registry: SmtRegistry = defaultSmtRegistry,
): TransformChain {
  const { steps, aliases, errors } = configure(config, registry);
  if (errors.length > 0) throw new TransformConfigError(errors);
  if (steps.length === 0) {
    return { identity: true, aliases: [], apply: identityApply, close: () => {} };
  }

  const apply = <R extends ConnectRecord>(record: R): R | null => {
    let current: R = record;
    let index = 0;
    try {
      for (; index < steps.length; index++) {
        const step = steps[index]!;
        // Kafka's PredicatedTransformation: apply when predicate(record) XOR negate.
        if (step.predicate !== undefined && step.predicate(current) === step.negate) continue;
        const next: R | null = step.transform(current);
        if (next === null) return null;
        current = next;
      }
      return current;
    } catch (error) {
      const step = steps[index]!;
      throw new TransformDataError(
        `transform "${step.alias}" (${step.className}) failed on a record of topic ${current.topic}: ${errorMessage(error)}`,
        error,
      );
    }
  };
  return { identity: false, aliases, apply, close: () => {} };
}

/** For GET /connector-plugins?connectorsOnly=false: every transform and predicate. */
export function transformPluginInfos(registry: SmtRegistry = defaultSmtRegistry): PluginInfo[] {
  return registry.pluginInfos();
}
