import type { Tool } from '@modelcontextprotocol/client';
import type { McpServerConfig } from '../config/mcp-schema.ts';
import type { ChatTool } from '../providers/types.ts';
import { compileArgumentValidator, type ArgumentValidator } from './argument-validator.ts';
import { sortKeys } from './canonical-json.ts';
import { toolDefinitionHash, type ToolPins } from './pinning.ts';
import { cleanSchema, type SchemaProfile } from './schema-clean.ts';
import { exposedToolName } from './tool-names.ts';

/** One MCP tool as the gateway offers it to models. */
export class McpTool {
  readonly server: string;
  readonly name: string;
  readonly exposedName: string;
  readonly definition: Tool;
  readonly hash: string;
  readonly autoRun: boolean;
  readonly validate: ArgumentValidator;
  readonly #offered = new Map<SchemaProfile, ChatTool>();

  constructor(server: string, definition: Tool, hash: string, autoRun: boolean, validate: ArgumentValidator) {
    this.server = server;
    this.name = definition.name;
    this.exposedName = exposedToolName(server, definition.name);
    this.definition = definition;
    this.hash = hash;
    this.autoRun = autoRun;
    this.validate = validate;
  }

  /** The OpenAI function entry for a provider kind: built once, keys sorted, so every request sends the same bytes. */
  offered(profile: SchemaProfile): ChatTool {
    let tool = this.#offered.get(profile);
    if (tool === undefined) {
      const description = this.definition.description ?? this.definition.title ?? '';
      tool = sortKeys({
        type: 'function',
        function: { name: this.exposedName, description, parameters: cleanSchema(this.definition.inputSchema, profile) },
      }) as ChatTool;
      this.#offered.set(profile, tool);
    }
    return tool;
  }
}

export interface WithheldTool {
  readonly name: string;
  readonly reason: string;
}

/** A server's offered tools after allow/deny lists, pinning and schema compilation. */
export interface Toolset {
  readonly server: string;
  /** Sorted by exposed name. */
  readonly tools: readonly McpTool[];
  readonly byName: ReadonlyMap<string, McpTool>;
  readonly withheld: readonly WithheldTool[];
  /** allow/deny entries that name no tool the server has (a config error at start-up). */
  readonly unknownNames: readonly { readonly list: 'allow' | 'deny'; readonly name: string }[];
  /** Every tool name the server listed. */
  readonly listed: readonly string[];
}

/** Validators by definition hash: a re-listed, unchanged tool is not compiled again. */
const validators = new Map<string, ArgumentValidator>();
const VALIDATOR_MEMO_LIMIT = 2000;

function validatorFor(hash: string, schema: unknown): ArgumentValidator {
  let validate = validators.get(hash);
  if (validate === undefined) {
    validate = compileArgumentValidator(schema);
    if (validators.size >= VALIDATOR_MEMO_LIMIT) validators.clear();
    validators.set(hash, validate);
  }
  return validate;
}

export function buildToolset(server: string, config: McpServerConfig, listed: readonly Tool[], pins: ToolPins): Toolset {
  const { allow, deny, auto_run: autoRun } = config.tools;
  const names = new Set(listed.map((tool) => tool.name));
  const unknownNames = [
    ...(allow ?? []).filter((name) => !names.has(name)).map((name) => ({ list: 'allow' as const, name })),
    ...deny.filter((name) => !names.has(name)).map((name) => ({ list: 'deny' as const, name })),
  ];
  const tools: McpTool[] = [];
  const withheld: WithheldTool[] = [];
  for (const definition of listed) {
    if ((allow !== undefined && !allow.includes(definition.name)) || deny.includes(definition.name)) continue;
    const hash = toolDefinitionHash(definition);
    const verdict = pins.check(definition.name, hash);
    if (verdict.kind === 'quarantined') {
      withheld.push({ name: definition.name, reason: `quarantined: ${verdict.reason} (now ${hash})` });
      continue;
    }
    let validate: ArgumentValidator;
    try {
      validate = validatorFor(hash, definition.inputSchema);
    } catch (error) {
      withheld.push({ name: definition.name, reason: `input schema does not compile: ${(error as Error).message}` });
      continue;
    }
    const runs = autoRun === true || (Array.isArray(autoRun) && autoRun.includes(definition.name));
    tools.push(new McpTool(server, definition, hash, runs, validate));
  }
  tools.sort((a, b) => (a.exposedName < b.exposedName ? -1 : a.exposedName > b.exposedName ? 1 : 0));
  return {
    server,
    tools,
    byName: new Map(tools.map((tool) => [tool.name, tool])),
    withheld,
    unknownNames,
    listed: [...names],
  };
}
