import { pathToFileURL } from 'node:url';

/** Turns a specifier from the host (path, file URL or package name) into something `import()` accepts. */
export function importable(specifier: string): string {
  if (specifier.startsWith('/')) return pathToFileURL(specifier).href;
  return specifier;
}
