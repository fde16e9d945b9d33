/**
 * `quantwm serve`: a small static server (Node's http module, 127.0.0.1 only) for the live
 * planning page (web/index.html) and the in-browser portable suite (web/portable.html).
 *
 * URL space (everything else is 404; paths never leave their mount):
 *   /                         -> 302 /web/
 *   /web/...                  <pkg>/web/             the pages
 *   /dist/...                 <pkg>/dist/            compiled JS (`npm run build` makes dist/www)
 *   /weights/...              <pkg>/weights/         shipped models
 *   /test/fixtures/portable/  the portable suite's golden file (a source checkout only)
 *   /vendor/<pkg>/...         the two runtime dependencies, fflate and @msgpack/msgpack, as ES
 *                             modules (the pages' import map points the bare names here)
 *   /model.qwm                the file given with --weights
 *   /config.json              { weights: URL of the model the page should load, or null }
 *
 * With isolation on (the default) every response carries COOP: same-origin and COEP:
 * require-corp, so the page is cross-origin isolated and SharedArrayBuffer (kernel threads)
 * works; --no-isolate serves without them (the single-thread fallback).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValueError } from '../tensor/errors.js';
import { parseArgs } from './args.js';
import type { Command } from './run.js'; // type only: scripts import startServer without the command table

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
};

/** Packages the library imports by bare name; the pages map them to /vendor/<name>/. */
const VENDORED = ['fflate', '@msgpack/msgpack'];

/** A dependency's directory: in the package's node_modules, or hoisted beside the package. */
async function packageDir(root: string, name: string): Promise<string | null> {
  for (const dir of [join(root, 'node_modules', name), resolve(root, '..', name), resolve(root, '..', '..', name)]) {
    if ((await stat(join(dir, 'package.json')).catch(() => null))?.isFile()) return dir;
  }
  return null;
}

/** The package root: two levels above this file (src/cli or dist/cli). */
export function packageRoot(): string {
  return resolve(fileURLToPath(new URL('../..', import.meta.url)));
}

export interface ServeOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one */
  port: number;
  /** a model file served as /model.qwm and announced in /config.json */
  weights?: string | null;
  /** send COOP/COEP (default true) */
  isolate?: boolean;
  /** package root (default: packageRoot()) */
  root?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Start the server; resolves once it listens. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new ValueError('serve --port', `must be an integer in [0, 65535], got ${o.port}`);
  const root = o.root ?? packageRoot();
  const isolate = o.isolate ?? true;
  const weights = o.weights ? resolve(o.weights) : null;
  if (weights) {
    const s = await stat(weights).catch(() => null);
    if (!s?.isFile()) throw new ValueError('serve --weights', `no such file: ${o.weights}`);
  }
  const shipped = join(root, 'weights', 'wall.qwm');
  const hasShipped = (await stat(shipped).catch(() => null))?.isFile() ?? false;
  const config = JSON.stringify({ weights: weights ? '/model.qwm' : hasShipped ? '/weights/wall.qwm' : null, isolated: isolate });
  const mounts: [string, string][] = [
    ['/web/', join(root, 'web')],
    ['/dist/', join(root, 'dist')],
    ['/weights/', join(root, 'weights')],
    ['/test/fixtures/portable/', join(root, 'test', 'fixtures', 'portable')],
  ];
  for (const name of VENDORED) {
    const dir = await packageDir(root, name);
    if (dir) mounts.push([`/vendor/${name}/`, dir]);
  }

  const server: Server = createServer((req, res) => {
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
    if (isolate) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void => {
      res.writeHead(status, { ...headers, 'Content-Type': type, ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' });
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      return send(400, 'bad request\n');
    }
    if (path === '/' || path === '/web') return send(302, '', undefined, { Location: '/web/' });
    if (path === '/config.json') return send(200, config, MIME['.json']);
    if (path === '/favicon.ico') return send(204, '');
    let file: string | null = null;
    if (path === '/model.qwm' && weights) file = weights;
    for (const [prefix, dir] of mounts) {
      if (file || !path.startsWith(prefix)) continue;
      const rel = path.slice(prefix.length) || 'index.html';
      const full = resolve(dir, `.${sep}${rel}`);
      if (full !== dir && !full.startsWith(dir + sep)) return send(403, 'forbidden\n');
      file = rel.endsWith('/') ? join(full, 'index.html') : full;
    }
    if (!file) return send(404, 'not found\n');
    const target = file;
    stat(target).then(
      (s) => {
        if (!s.isFile()) return send(404, 'not found\n');
        res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(target)] ?? 'application/octet-stream', 'Content-Length': String(s.size) });
        if (req.method === 'HEAD') return res.end();
        createReadStream(target)
          .on('error', () => res.destroy())
          .pipe(res);
      },
      () => send(404, 'not found\n'),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(o.port, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the live planning page (and the in-browser portable suite) on 127.0.0.1',
  help: `Usage: quantwm serve [--port P] [--weights FILE] [--no-isolate]

Serves web/ on http://127.0.0.1:P/ : the live planning page loads the shipped Wall model
(weights/wall.qwm, or FILE) and plans in the browser with a float / W8A8 / W4 g128 / W3
selector; /web/portable.html runs the portable suite in the page. Needs the compiled page
(dist/www, made by \`npm run build\`). Stops on Ctrl-C.

  --port P        TCP port on 127.0.0.1 (default 8080; 0 = any free port)
  --weights FILE  the world model to plan with (a float .qwm; default weights/wall.qwm)
  --no-isolate    leave out the COOP/COEP headers: no SharedArrayBuffer, kernels single-threaded`,
  async run(argv) {
    const { opts } = parseArgs('serve', argv, { options: { port: 'number', weights: 'string', 'no-isolate': 'boolean' }, positionals: 0 });
    const root = packageRoot();
    if (!(await stat(join(root, 'dist', 'www', 'web', 'app.js')).catch(() => null))) {
      process.stderr.write(`quantwm serve: the page is not compiled (${join(root, 'dist', 'www')} is missing): run \`npm run build\`\n`);
      return 1; // EXIT.FAIL
    }
    const s = await startServer({ port: (opts.port as number | undefined) ?? 8080, weights: (opts.weights as string | undefined) ?? null, isolate: !opts['no-isolate'], root });
    process.stdout.write(`quantwm serve: ${s.url}/  (planning page)   ${s.url}/web/portable.html  (portable suite)   Ctrl-C stops\n`);
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void s.close().then(done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0; // EXIT.OK
  },
};
