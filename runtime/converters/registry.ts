// The converters this worker knows, by class name or alias, and how a connector's config picks
// and configures them (key.converter / value.converter plus their prefixed options, falling back to
// the worker's defaults).

import type { ParsedConfig } from '../api/config.ts';
import { InvalidInputError } from '../api/errors.ts';
import { byteArrayConverterPlugin } from './byte-array-converter.ts';
import type { Converter, ConverterPlugin } from './converter.ts';
import { jsonConverterPlugin } from './json-converter.ts';
import { stringConverterPlugin } from './string-converter.ts';

export const builtinConverters: readonly ConverterPlugin[] = [
  jsonConverterPlugin,
  stringConverterPlugin,
  byteArrayConverterPlugin,
];

export interface ConverterDefaults {
  key: string;
  value: string;
  keySchemasEnable: boolean;
  valueSchemasEnable: boolean;
}

export class ConverterRegistry {
  constructor(private readonly plugins: readonly ConverterPlugin[] = builtinConverters) {}

  list(): readonly ConverterPlugin[] {
    return this.plugins;
  }

  find(name: string): ConverterPlugin | undefined {
    return this.plugins.find(
      (plugin) => plugin.className === name || plugin.aliases.includes(name),
    );
  }

  /** Problems with the converter keys of a connector config, per key. */
  problems(config: ParsedConfig): Array<{ field: string; message: string }> {
    const problems: Array<{ field: string; message: string }> = [];
    for (const field of ['key.converter', 'value.converter']) {
      const name = config[field];
      if (typeof name === 'string' && name !== '' && !this.find(name)) {
        problems.push({
          field,
          message: `Invalid value ${name} for configuration ${field}: Class ${name} could not be found. Available converters: ${this.plugins.map((p) => p.className).join(', ')}`,
        });
      }
    }
    return problems;
  }

  /** The key and value converters a connector config asks for. */
  forConnector(
    config: ParsedConfig,
    defaults: ConverterDefaults,
  ): { key: Converter; value: Converter } {
    return {
      key: this.create(config, 'key', defaults.key, defaults.keySchemasEnable),
      value: this.create(config, 'value', defaults.value, defaults.valueSchemasEnable),
    };
  }

  private create(
    config: ParsedConfig,
    which: 'key' | 'value',
    defaultName: string,
    defaultSchemasEnable: boolean,
  ): Converter {
    const prefix = `${which}.converter.`;
    const configured = config[`${which}.converter`];
    const name = typeof configured === 'string' && configured !== '' ? configured : defaultName;
    const plugin = this.find(name);
    if (!plugin) {
      throw new InvalidInputError(
        'CONVERTER_NOT_FOUND',
        `${which}.converter: no converter named ${name}`,
      );
    }
    const options: Record<string, string | number | boolean | string[] | undefined> = {
      'schemas.enable': defaultSchemasEnable,
    };
    for (const [key, value] of Object.entries(config)) {
      if (key.startsWith(prefix)) options[key.slice(prefix.length)] = value;
    }
    return plugin.create({ isKey: which === 'key', options });
  }
}
