// Connector configs given as files at start (`kafki standalone worker.json connector.json …`): a
// JSON file holding either the REST create body `{"name": …, "config": {…}}` or a flat map with a
// "name" key, or a Java .properties file (Kafka Connect's standalone format).

import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { RawConfig } from '../api/config.ts';
import { InvalidInputError } from '../api/errors.ts';
import { parseProperties } from './properties.ts';

export interface ConnectorConfigFile {
  name: string;
  config: RawConfig;
}

function toStrings(path: string, object: Record<string, unknown>): RawConfig {
  const out: RawConfig = {};
  for (const [key, value] of Object.entries(object)) {
    if (value === null || typeof value === 'object') {
      throw new InvalidInputError(
        'CONNECTOR_FILE_INVALID',
        `${path}: "${key}" must be a string, number or boolean`,
      );
    }
    out[key] = String(value);
  }
  return out;
}

export async function loadConnectorConfigFile(path: string): Promise<ConnectorConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(
      'CONNECTOR_FILE_UNREADABLE',
      `cannot read connector config ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      error,
    );
  }
  let config: RawConfig;
  if (extname(path).toLowerCase() === '.properties') {
    config = Object.fromEntries(parseProperties(text));
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new InvalidInputError(
        'CONNECTOR_FILE_INVALID',
        `${path} is not valid JSON: ${(error as Error).message}`,
        error,
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new InvalidInputError('CONNECTOR_FILE_INVALID', `${path} must hold a JSON object`);
    }
    const body = parsed as Record<string, unknown>;
    if (body.config !== null && typeof body.config === 'object' && !Array.isArray(body.config)) {
      config = toStrings(path, body.config as Record<string, unknown>);
      if (typeof body.name === 'string') config.name ??= body.name;
    } else {
      config = toStrings(path, body);
    }
  }
  const name = config.name?.trim();
  if (!name)
    throw new InvalidInputError('CONNECTOR_FILE_INVALID', `${path} has no connector "name"`);
  return { name, config };
}
