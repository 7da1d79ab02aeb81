// The dashboard's single-page app: / is its page, /ui/{file} its scripts and styles (from
// ./ui beside this file), /ui/vendor/{file} the charting library (uPlot, from node_modules).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpError, REVALIDATE, send } from '../http/respond.js';
import type { HttpArea } from '../http/server.js';
import { readStatic } from '../http/static-files.js';

const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

export function dashboardPages(): HttpArea[] {
  const serve = async (res: Parameters<HttpArea['handle']>[1], dir: string, path: string[]) => {
    const file = await readStatic(dir, path);
    send(res, 200, file.body, { 'content-type': file.type, 'cache-control': REVALIDATE });
  };
  return [
    {
      prefix: '',
      async handle(_req, res, parts) {
        if (parts.length > 0) throw new HttpError(404, `no route for /${parts.join('/')}`);
        await serve(res, UI_DIR, ['index.html']);
      },
    },
    {
      prefix: 'ui',
      async handle(_req, res, parts) {
        if (parts[0] === 'vendor') return serve(res, UPLOT_DIR, parts.slice(1));
        await serve(res, UI_DIR, parts);
      },
    },
  ];
}
