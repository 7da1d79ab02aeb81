// Every job file in examples/ is a valid spec as it is; one that starts from a base model is
// checked against that base as its own example builds it.
import test from 'ava';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeModelJson, validateJobSpec, type BaseModelInfo } from '@syncline/coordinator';
import type { JobSpec } from '@syncline/proto';
import { buildModel, modelFiles, selectBackend } from '@syncline/worker';
import { readJobFile } from '../src/job-file.js';

const examples = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');

/** The model that example `name` trains, as the registry would describe it once published. */
async function baseOf(spec: JobSpec): Promise<BaseModelInfo | undefined> {
  const base = spec.model?.base;
  if (!base) return undefined;
  const trained = validateJobSpec(await readJobFile(join(examples, `${base.name}.json`)));
  const model = buildModel(trained.model!.layers, [784], 1);
  try {
    return await describeModelJson((await modelFiles(model, {})).files.get('model.json')!, base.name, 1);
  } finally {
    model.dispose();
  }
}

test.before(async () => {
  await selectBackend('cpu');
});

for (const file of readdirSync(examples).filter((f) => f.endsWith('.json'))) {
  test(`examples/${file} is a valid job spec`, async (t) => {
    const spec = await readJobFile(join(examples, file));
    const base = await baseOf(spec);
    t.notThrows(() => validateJobSpec(spec, {}, base));
    t.is(`${spec.name}.json`, file);
  });
}
