// The few Node.js APIs the sources use. Debian has no @types/node package and
// there is no npm registry to fetch it from, so they are declared here.

declare module "node:http" {
  export interface IncomingMessage {
    method?: string;
    url?: string;
    headers: Record<string, string | string[] | undefined>;
  }
  export interface ServerResponse {
    statusCode: number;
    setHeader(name: string, value: string | number): this;
    end(body?: string): this;
  }
  export interface AddressInfo {
    address: string;
    family: string;
    port: number;
  }
  export interface Server {
    listen(port: number, host: string, callback?: () => void): this;
    close(callback?: (err?: Error) => void): this;
    address(): AddressInfo | string | null;
    on(event: "error", listener: (err: Error) => void): this;
  }
  export function createServer(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): Server;
}

declare module "node:url" {
  export function fileURLToPath(url: string): string;
}

interface ImportMeta {
  url: string;
}

declare class URL {
  constructor(input: string, base?: string);
  readonly pathname: string;
  readonly searchParams: { get(name: string): string | null };
}

declare const process: {
  env: Record<string, string | undefined>;
  argv: string[];
  exitCode?: number;
  on(event: "SIGTERM" | "SIGINT", listener: () => void): void;
};

declare const console: {
  log(...args: unknown[]): void;
  error(...args: unknown[]): void;
};
