import { benchConsolidation } from './consolidation';
import { createProgress } from './progress';

const { progress } = createProgress();
benchConsolidation({ staged: Number(process.argv[2]), final: Number(process.argv[3]), progress, repetitions: 2 }).then((f) =>
  console.log(JSON.stringify(f, null, 1)),
);
