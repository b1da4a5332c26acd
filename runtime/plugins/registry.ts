// Connector plugins by name: the class name users put in connector.class, the plugin's declared
// aliases, and Kafka Connect's implicit aliases (the simple class name, with and without its
// "Connector" suffix). The registry knows no concrete connector; the entry point hands them in.

import type { ConnectorPlugin } from '../api/connector.ts';

function implicitAliases(className: string): string[] {
  const simple = className.slice(className.lastIndexOf('.') + 1);
  const aliases = [simple];
  if (simple.endsWith('Connector') && simple.length > 'Connector'.length) {
    aliases.push(simple.slice(0, -'Connector'.length));
  }
  return aliases;
}

export class PluginRegistry {
  private readonly byName = new Map<string, ConnectorPlugin>();
  private readonly plugins: ConnectorPlugin[] = [];

  constructor(plugins: readonly ConnectorPlugin[] = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  /** Fails on a name clash: two plugins answering to one name would make configs ambiguous. */
  register(plugin: ConnectorPlugin): void {
    const names = new Set([
      plugin.className,
      ...(plugin.aliases ?? []),
      ...implicitAliases(plugin.className),
    ]);
    for (const name of names) {
      const existing = this.byName.get(name);
      if (existing && existing !== plugin) {
        throw new Error(
          `plugin name "${name}" is claimed by both ${existing.className} and ${plugin.className}`,
        );
      }
    }
    for (const name of names) this.byName.set(name, plugin);
    this.plugins.push(plugin);
  }

  find(name: string): ConnectorPlugin | undefined {
    return this.byName.get(name.trim());
  }

  list(): readonly ConnectorPlugin[] {
    return this.plugins;
  }

  /** For error messages: "Available connector classes: a (aliases: x, y), b". */
  describeAvailable(): string {
    if (this.plugins.length === 0) return 'No connector plugins are installed.';
    return `Available connector classes: ${this.plugins
      .map((plugin) => {
        const aliases = plugin.aliases ?? [];
        return aliases.length
          ? `${plugin.className} (aliases: ${aliases.join(', ')})`
          : plugin.className;
      })
      .join(', ')}`;
  }
}
