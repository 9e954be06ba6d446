import { lazyModule } from '../state/lazy-module.ts';

/** The MCP client SDK, loaded when the config first needs it (a server to connect). */
export const mcpSdk = lazyModule<typeof import('@modelcontextprotocol/client')>('@modelcontextprotocol/client');
export const mcpStdio = lazyModule<typeof import('@modelcontextprotocol/client/stdio')>('@modelcontextprotocol/client/stdio');
