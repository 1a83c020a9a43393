/**
 * The renderer without Electron: serves the built renderer as a web page and speaks the IPC
 * schema over HTTP — `POST /ipc/invoke/<channel>` and `POST /ipc/send/<channel>` with a JSON
 * `{ arg }`, and `GET /ipc/events` as Server-Sent Events (one SSE event per notify channel).
 * Behind it run the very same DaemonLink and IPC handlers as in the Electron main process,
 * so a browser (the Chromium tests, or a developer) drives real app logic against the fake
 * backend or a real daemon. renderer/dev-bridge.ts is the page-side half.
 *
 * It is a development tool: it listens on 127.0.0.1 only, checks Host and Origin (against DNS
 * rebinding and other sites' pages), and requires an `X-Masque-Dev` header on writes so a
 * cross-site form or fetch cannot reach it without a CORS preflight we never grant.
 *
 * Usage: node app/electron/dist/node/app/electron/dev-server.js [--socket PATH] [--port N]
 */
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ControlClient } from '../../src/control/client.js';
import { createAutostart } from './main/autostart.js';
import { DaemonLink, type LinkClient, type LinkEvent } from './main/daemon-link.js';
import { createIpcHandlers, dispatchInvoke } from './main/ipc-handlers.js';
import { notifyFor } from './main/tray-controller.js';
import { CONTENT_SECURITY_POLICY, RENDERER_ENTRY, serveStatic } from './main/window.js';
import type { SendChannel } from './shared/ipc-schema.js';

/** The header every write must carry (any value); see the module comment. */
export const DEV_HEADER = 'x-masque-dev';
const MAX_BODY_BYTES = 64 * 1024;

export interface DevServerOptions {
  /** A control client (or double); default: a ControlClient on env MASQUE_SOCKET / the default socket. */
  client?: LinkClient;
  /** 0 = any free port. */
  port?: number;
  /** Directory holding the built renderer (app/electron/dist/web). */
  webRoot: string;
  /** Where "start at login" writes its entry; default a temp dir, so dev runs never touch ~/.config. */
  autostartDir?: string;
  /** Passed to DaemonLink (tests shorten the retry and the stats tick). */
  retryMs?: number;
  statsIntervalMs?: number;
}

export interface DevServer {
  /** e.g. http://127.0.0.1:43123 */
  origin: string;
  /** Full URL of the renderer page. */
  pageUrl: string;
  link: DaemonLink;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Start the dev server; resolves once it listens. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const client = opts.client ?? new ControlClient({ checkOwner: true });
  const autostart = createAutostart(opts.autostartDir ?? path.join(os.tmpdir(), `masque-dev-autostart-${process.pid}`), ['masque-app']);
  const link = new DaemonLink({ client, startAtLogin: () => autostart.isEnabled(), retryMs: opts.retryMs, statsIntervalMs: opts.statsIntervalMs });
  const handlers = createIpcHandlers({ link, autostart });
  const streams = new Set<http.ServerResponse>();
  let origin = '';

  const unsubscribe = link.onEvent((ev) =>
    notifyFor(ev, (channel, payload) => {
      const frame = `event: ${channel}\ndata: ${JSON.stringify(payload)}\n\n`;
      for (const res of streams) res.write(frame);
    }),
  );

  const isAllowedHost = (req: http.IncomingMessage): boolean => {
    const host = req.headers.host ?? '';
    const port = new URL(origin).port;
    const isOkHost = host === `127.0.0.1:${port}` || host === `localhost:${port}`;
    const from = req.headers.origin;
    return isOkHost && (from === undefined || from === `http://${host}`);
  };

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const reply = (status: number, type: string, body: string | Buffer): void => {
        res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
        res.end(body);
      };
      if (!isAllowedHost(req)) return reply(403, 'text/plain', 'forbidden host or origin');
      if (req.method === 'GET' && url.pathname === '/') {
        res.writeHead(302, { Location: RENDERER_ENTRY });
        return res.end();
      }
      if (req.method === 'GET' && url.pathname === '/ipc/events') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
        res.write(': masque dev bridge\n\n');
        streams.add(res);
        // First the current state, as the daemon's own /v0/events starts: what the link
        // emitted between the page's app:snapshot and this stream's start would otherwise
        // never reach the page (seen as a window stuck on "daemon…" or "Connecting…").
        const now = link.snapshot();
        const first: LinkEvent[] = [{ type: 'daemon', daemon: now.daemon }, { type: 'tunnel', tunnel: now.tunnel }];
        if (now.settings) first.push({ type: 'settings', settings: now.settings });
        first.push({ type: 'relays', relays: now.relays });
        for (const ev of first) notifyFor(ev, (channel, payload) => res.write(`event: ${channel}\ndata: ${JSON.stringify(payload)}\n\n`));
        req.on('close', () => streams.delete(res));
        return;
      }
      const m = /^\/ipc\/(invoke|send)\/([a-z]+:[a-z]+)$/.exec(url.pathname);
      if (m && req.method === 'POST') {
        if (req.headers[DEV_HEADER] === undefined) return reply(403, 'text/plain', `missing ${DEV_HEADER} header`);
        let arg: unknown;
        try {
          const text = await readBody(req);
          arg = text === '' ? undefined : (JSON.parse(text) as { arg?: unknown }).arg;
        } catch {
          return reply(400, 'application/json', JSON.stringify({ type: 'error', message: 'bad JSON body', code: 'ERR_IPC_INVALID_ARGUMENT' }));
        }
        if (m[1] === 'invoke') return reply(200, 'application/json', JSON.stringify(await dispatchInvoke(handlers.invoke, m[2]!, arg)));
        if (Object.hasOwn(handlers.send, m[2]!)) handlers.send[m[2] as SendChannel](arg);
        return reply(204, 'text/plain', '');
      }
      if (req.method !== 'GET') return reply(405, 'text/plain', 'method not allowed');
      const r = await serveStatic(opts.webRoot, url.pathname);
      return reply(r.status, r.type, r.body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const addr = server.address() as { port: number };
  origin = `http://127.0.0.1:${addr.port}`;
  link.start();
  return {
    origin,
    pageUrl: origin + RENDERER_ENTRY,
    link,
    async close() {
      unsubscribe();
      await link.stop();
      for (const res of streams) res.end();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// Run as a program: node dev-server.js [--socket PATH] [--port N] [--web-root DIR]
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const here = path.dirname(fileURLToPath(import.meta.url)); // app/electron/dist/node/app/electron
  const socketPath = argValue('--socket');
  const dev = await startDevServer({
    client: new ControlClient({ checkOwner: true, ...(socketPath ? { socketPath } : {}) }),
    port: Number(argValue('--port') ?? 5173),
    webRoot: argValue('--web-root') ?? path.resolve(here, '../../../web'),
  });
  console.log(`masque dev server: open ${dev.pageUrl}`);
  const stop = (): void => void dev.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
