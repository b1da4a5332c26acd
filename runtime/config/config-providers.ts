// Config providers: `${env:NAME}` and `${file:PATH:KEY}` inside connector config values (and the
// worker config). Connector configs are stored with the references unresolved, so a secret never
// reaches the config topic in clear text; the worker resolves them when a connector or task
// starts. A reference that cannot be resolved is an error naming the key and the reference.

import { readFile } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve } from 'node:path';
import type { FieldError, RawConfig } from '../api/config.ts';
import { parseProperties } from './properties.ts';

/** Kafka Connect's ConfigTransformer pattern: ${provider:[path:]key}. */
const referencePattern = /\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}/g;

export interface ConfigReference {
  text: string;
  provider: string;
  path: string | undefined;
  key: string;
}

export interface ConfigProviderSettings {
  /** Enabled providers: a subset of env, file. */
  enabled: readonly string[];
  /** Whole-name regular expression of readable environment variables. */
  envAllowlistPattern: string;
  /** Directories file references may read from; empty allows any. */
  fileAllowedPaths: readonly string[];
}

export const defaultConfigProviderSettings: ConfigProviderSettings = {
  enabled: ['env', 'file'],
  envAllowlistPattern: '.*',
  fileAllowedPaths: [],
};

export function findReferences(value: string): ConfigReference[] {
  const found: ConfigReference[] = [];
  for (const match of value.matchAll(referencePattern)) {
    found.push({ text: match[0], provider: match[1]!, path: match[3], key: match[4]! });
  }
  return found;
}

export function hasReferences(value: string): boolean {
  return value.includes('${') && findReferences(value).length > 0;
}

export interface ResolveResult {
  config: RawConfig;
  errors: FieldError[];
}

export class ConfigResolver {
  private readonly envAllowlist: RegExp;

  constructor(
    private readonly settings: ConfigProviderSettings,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {
    this.envAllowlist = new RegExp(`^(?:${settings.envAllowlistPattern})$`);
  }

  /** Replace every reference; errors name the key and the reference and never carry values. */
  async resolve(config: Readonly<Record<string, string>>): Promise<ResolveResult> {
    const out: RawConfig = {};
    const errors: FieldError[] = [];
    const files = new Map<string, Promise<Map<string, string>>>();
    for (const [key, value] of Object.entries(config)) {
      if (typeof value !== 'string' || !value.includes('${')) {
        out[key] = value;
        continue;
      }
      let resolved = value;
      for (const reference of findReferences(value)) {
        try {
          const replacement = await this.lookup(reference, files);
          resolved = resolved.replace(reference.text, () => replacement);
        } catch (error) {
          errors.push({
            field: key,
            message: `Cannot resolve ${reference.text} in configuration ${key}: ${(error as Error).message}`,
          });
        }
      }
      out[key] = resolved;
    }
    return { config: out, errors };
  }

  /**
   * Put references back into task configs a connector derived from its resolved config (Kafka
   * Connect's reverseTransform): a task value equal to a resolved value that came from a reference
   * is stored as that reference, so task configs do not carry resolved secrets either.
   */
  reverse(
    raw: Readonly<Record<string, string>>,
    resolved: Readonly<Record<string, string>>,
    taskConfig: Readonly<Record<string, string>>,
  ): RawConfig {
    const out: RawConfig = { ...taskConfig };
    for (const [key, value] of Object.entries(raw)) {
      if (!hasReferences(value)) continue;
      if (out[key] !== undefined && out[key] === resolved[key]) out[key] = value;
    }
    return out;
  }

  private async lookup(
    reference: ConfigReference,
    files: Map<string, Promise<Map<string, string>>>,
  ): Promise<string> {
    if (!this.settings.enabled.includes(reference.provider)) {
      throw new Error(
        `config provider "${reference.provider}" is not enabled (enabled: ${this.settings.enabled.join(', ') || 'none'})`,
      );
    }
    if (reference.provider === 'env') {
      const name =
        reference.path === undefined ? reference.key : `${reference.path}:${reference.key}`;
      if (!this.envAllowlist.test(name)) {
        throw new Error(
          `environment variable ${name} is not allowed by config.providers.env.allowlist.pattern`,
        );
      }
      const value = this.env[name];
      if (value === undefined) throw new Error(`environment variable ${name} is not set`);
      return value;
    }
    if (reference.provider === 'file') {
      if (reference.path === undefined || reference.path === '') {
        throw new Error('a file reference needs a path and a key: ${file:PATH:KEY}');
      }
      const path = resolve(reference.path);
      this.checkAllowed(path);
      let entries = files.get(path);
      if (!entries) {
        entries = readEntries(path);
        files.set(path, entries);
      }
      const value = (await entries).get(reference.key);
      if (value === undefined)
        throw new Error(`key "${reference.key}" not found in ${reference.path}`);
      return value;
    }
    throw new Error(`unknown config provider "${reference.provider}"`);
  }

  private checkAllowed(path: string): void {
    const allowed = this.settings.fileAllowedPaths;
    if (allowed.length === 0) return;
    const inside = allowed.some((dir) => {
      const rel = relative(resolve(dir), path);
      return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
    });
    if (!inside) {
      throw new Error(`${path} is outside config.providers.file.allowed.paths`);
    }
  }
}

async function readEntries(path: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: error,
    });
  }
  if (extname(path).toLowerCase() !== '.json') return parseProperties(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${path} must hold a JSON object`);
  }
  const entries = new Map<string, string>();
  const flatten = (prefix: string, object: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(object)) {
      const name = prefix === '' ? key : `${prefix}.${key}`;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        flatten(name, value as Record<string, unknown>);
      } else {
        entries.set(name, typeof value === 'string' ? value : JSON.stringify(value));
      }
    }
  };
  flatten('', parsed as Record<string, unknown>);
  return entries;
}

/** The resolver with this process's environment; the only env access for connector configs. */
export function createConfigResolver(
  settings: ConfigProviderSettings = defaultConfigProviderSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ConfigResolver {
  return new ConfigResolver(settings, env);
}
