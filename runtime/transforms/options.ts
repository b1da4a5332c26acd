// Reading one transform's (or predicate's) options from the flat connector config, with Kafka
// Connect's ConfigDef parsing rules (LIST = comma-separated and trimmed, BOOLEAN = true/false in
// any case) and its error wording. Every problem is recorded against the full key
// (`transforms.<alias>.<option>`) and reading goes on, so validation reports them all at once;
// the values returned after an error are placeholders that are never used to build a chain.

import type { FieldError } from '../api/config.ts';
import { compileJavaRegex } from './java-regex.ts';
import type { JavaRegex } from './java-regex.ts';

export class OptionReader {
  constructor(
    private readonly options: Readonly<Record<string, string>>,
    /** e.g. `transforms.unwrap.` — error fields are this plus the option name. */
    readonly keyPrefix: string,
    private readonly errors: FieldError[],
  ) {}

  key(name: string): string {
    return this.keyPrefix + name;
  }

  has(name: string): boolean {
    return this.options[name] !== undefined;
  }

  raw(name: string): string | undefined {
    return this.options[name];
  }

  get errorCount(): number {
    return this.errors.length;
  }

  invalid(name: string, value: string, reason: string): void {
    const key = this.key(name);
    this.errors.push({
      field: key,
      message: `Invalid value ${value} for configuration ${key}: ${reason}`,
    });
  }

  missing(name: string): void {
    const key = this.key(name);
    this.errors.push({
      field: key,
      message: `Missing required configuration "${key}" which has no default value.`,
    });
  }

  /** A problem that is not about one value (e.g. two options that contradict each other). */
  problem(name: string, message: string): void {
    this.errors.push({ field: this.key(name), message });
  }

  string(name: string): string | undefined;
  string(name: string, fallback: string): string;
  string(name: string, fallback?: string): string | undefined {
    return this.raw(name) ?? fallback;
  }

  /** A required STRING: absent is an error; empty is one too when `nonEmpty`. */
  requiredString(name: string, options: { nonEmpty?: boolean } = {}): string {
    const value = this.raw(name);
    if (value === undefined) {
      this.missing(name);
      return '';
    }
    if (options.nonEmpty && value.trim() === '') {
      this.invalid(name, value, 'String must be non-empty');
    }
    return value;
  }

  list(name: string, fallback: readonly string[] = []): string[] {
    const value = this.raw(name);
    if (value === undefined) return [...fallback];
    return value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const text = value.trim().toLowerCase();
    if (text === 'true') return true;
    if (text === 'false') return false;
    this.invalid(name, value, 'Expected value to be either true or false');
    return fallback;
  }

  /** One of a fixed set (Kafka's ValidString; Debezium's enums also ignore case). */
  oneOf<T extends string>(
    name: string,
    allowed: readonly T[],
    fallback: T,
    options?: { ignoreCase?: boolean },
  ): T;
  oneOf<T extends string>(
    name: string,
    allowed: readonly T[],
    fallback: undefined,
    options?: { ignoreCase?: boolean },
  ): T | undefined;
  oneOf<T extends string>(
    name: string,
    allowed: readonly T[],
    fallback: T | undefined,
    options: { ignoreCase?: boolean } = {},
  ): T | undefined {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const text = value.trim();
    const found = allowed.find((candidate) =>
      options.ignoreCase ? candidate.toLowerCase() === text.toLowerCase() : candidate === text,
    );
    if (found === undefined) {
      this.invalid(name, value, `String must be one of: ${allowed.join(', ')}`);
      return fallback;
    }
    return found;
  }

  /** A Java regex option, compiled once here. */
  regex(name: string, options: { required: boolean; fullMatch: boolean }): JavaRegex | undefined {
    const value = options.required ? this.requiredString(name) : this.raw(name);
    if (value === undefined || (options.required && !this.has(name))) return undefined;
    if (value === '') {
      this.invalid(name, value, 'String must be non-empty');
      return undefined;
    }
    const compiled = compileJavaRegex(value, options.fullMatch);
    if (!compiled.ok) {
      this.invalid(name, value, `not a valid regular expression: ${compiled.message}`);
      return undefined;
    }
    return compiled.value;
  }
}
