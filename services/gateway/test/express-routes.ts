import type { Express } from 'express';

interface Layer {
  rawPath?: string | string[];
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method and path an Express app serves, read from its router stack (Express 5 keeps each layer's raw path). */
export function expressRoutes(express: Express): { method: string; path: string }[] {
  const app = express as unknown as { router: { stack: Layer[] } };
  const found: { method: string; path: string }[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      const raw = Array.isArray(layer.rawPath) ? layer.rawPath[0] : (layer.rawPath ?? '/');
      const here = raw === '/' ? prefix : `${prefix}${raw}`;
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) found.push({ method, path: here || '/' });
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, here);
      }
    }
  };
  walk(app.router.stack, '');
  return found;
}
