// Request shapes as the schemas under schemas/rest guarantee them, and their conversion to the
// herder's types. Response bodies are the herder's types as they are: they already follow Kafka
// Connect's wire shapes (see runtime/herder/herder.ts).

import type { RawConfig } from '../api/config.ts';
import type { ConnectorOffsets, TargetState } from '../herder/herder.ts';

export type WireConfig = Record<string, string | number | boolean>;
export type WireConfigPatch = Record<string, string | number | boolean | null>;

export interface CreateConnectorBody {
  name: string;
  config: WireConfig;
  initial_state?: TargetState;
}

export type AlterOffsetsBody = ConnectorOffsets;

/** Kafka Connect reads configs as Map<String, String>, so 1 and true arrive as "1" and "true". */
export function toRawConfig(config: WireConfig): RawConfig {
  const raw: RawConfig = {};
  for (const [key, value] of Object.entries(config)) raw[key] = String(value);
  return raw;
}

export function toConfigPatch(patch: WireConfigPatch): Record<string, string | null> {
  const result: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(patch))
    result[key] = value === null ? null : String(value);
  return result;
}
