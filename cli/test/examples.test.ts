// Every job file in examples/ is a valid spec as it is.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateJobSpec } from '@syncline/coordinator';
import { readJobFile } from '../src/job-file.js';

const examples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

for (const file of readdirSync(examples).filter((f) => f.endsWith('.json'))) {
  test(`examples/${file} is a valid job spec`, async (t) => {
    const spec = await readJobFile(join(examples, file));
    t.notThrows(() => validateJobSpec(spec));
    t.is(`${spec.name}.json`, file);
  });
}
