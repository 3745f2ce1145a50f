import { benchLambdas } from './lambdas';
import { createProgress } from './progress';

const { progress } = createProgress();
benchLambdas({ assemblyDir: process.argv[2], progress, repetitions: 3 }).then((f) =>
  console.log(JSON.stringify(f.functions.map((x) => [x.logicalId, x.bundleBytes, x.requireMedianMs, x.requireWithoutNodeOptionsMedianMs, x.heapAfterRequireMb]))),
);
