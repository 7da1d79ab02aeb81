// A token task for embedding + recurrent layers: sequences of token ids in which some of four
// keyword tokens appear among filler tokens; the class is the keyword that appears first.
// A bag-of-words model cannot tell the order; a recurrent model can. Classes are balanced,
// so always guessing one class scores 0.25.
import { BUILTIN_DATASETS, KEYWORDS_CLASSES, KEYWORDS_LENGTH, KEYWORDS_VOCABULARY, seededRandom } from '@syncline/proto';
import { generateSplit, type InMemoryDataset, type Split } from './dataset.js';

const SEED = 0x6b3d;
let cached: InMemoryDataset | undefined;

// Tokens 0..3 are the keywords; the rest are filler.
function keywordsSplit(count: number, random: () => number): Split {
  return generateSplit(count, KEYWORDS_LENGTH, KEYWORDS_CLASSES, (x, y) => {
    const label = Math.floor(random() * KEYWORDS_CLASSES);
    for (let t = 0; t < KEYWORDS_LENGTH; t++) x[t] = KEYWORDS_CLASSES + Math.floor(random() * (KEYWORDS_VOCABULARY - KEYWORDS_CLASSES));
    // The label's keyword first, then 1-3 other keywords (possibly repeats) later on.
    const firstAt = Math.floor(random() * (KEYWORDS_LENGTH / 2));
    x[firstAt] = label;
    const others = 1 + Math.floor(random() * 3);
    for (let k = 0; k < others; k++) {
      const at = firstAt + 1 + Math.floor(random() * (KEYWORDS_LENGTH - firstAt - 1));
      x[at] = Math.floor(random() * KEYWORDS_CLASSES);
    }
    y[label] = 1;
  });
}

export function loadKeywords(): InMemoryDataset {
  if (cached) return cached;
  const info = BUILTIN_DATASETS.keywords!;
  const random = seededRandom(SEED);
  cached = {
    name: 'keywords',
    inputShape: info.inputShape,
    featureSize: KEYWORDS_LENGTH,
    target: info.target,
    targetSize: KEYWORDS_CLASSES,
    train: keywordsSplit(info.train, random),
    heldout: keywordsSplit(info.heldout, random),
  };
  return cached;
}
