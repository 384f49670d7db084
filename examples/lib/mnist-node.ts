// Reads the `mnist` package's digit files in Node (the page fetches the same files instead).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CLASSES, digitsFromJson, type Digits } from './mnist.js';

/** The directory of the package's digits/0.json … 9.json. */
export function mnistDigitsDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
}

/** The 10,000 digits of the `mnist` package. */
export function loadMnist(): Digits {
  const dir = mnistDigitsDir();
  return digitsFromJson(
    Array.from({ length: CLASSES }, (_, k) => JSON.parse(readFileSync(join(dir, `${k}.json`), 'utf8'))),
  );
}
