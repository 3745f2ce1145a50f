/**
 * Regenerates local/strict/api-models/<service>.json from botocore's service models
 * (Apache-2.0). Usage: `npm run api-models [-- --botocore <dir>]`; without --botocore it
 * uses python3's botocore, else Debian's python3-botocore.
 */
import { writeFileSync } from 'node:fs';
import { AWS_SERVICE_NAMES, apiModelPath } from '../local/strict/api-model';
import {
  type BotocoreInstall,
  botocoreInstallAt,
  extractApiModel,
  findBotocoreInstalls,
  readBotocoreServiceModel,
  serializeApiModel,
} from '../local/strict/api-model-extract';
import { compileApiModelPatterns } from '../local/strict/api-model-validator';

function chooseInstall(argv: string[]): BotocoreInstall {
  const flag = argv.indexOf('--botocore');
  if (flag >= 0) {
    const dir = argv[flag + 1] ?? '';
    const install = botocoreInstallAt(dir);
    if (install) return install;
    throw new Error(`--botocore ${dir}: not a botocore package directory (no __init__.py with __version__)`);
  }
  const installs = findBotocoreInstalls();
  if (installs.length === 0) {
    throw new Error('No botocore found: install python3-botocore (apt) or botocore (pip)');
  }
  return installs[0];
}

const install = chooseInstall(process.argv.slice(2));
for (const service of AWS_SERVICE_NAMES) {
  const { file, json } = readBotocoreServiceModel(install, service);
  const model = extractApiModel(service, json, { botocoreVersion: install.version, file });
  // Refuse to write a model whose patterns the validator could not enforce.
  compileApiModelPatterns(model);
  writeFileSync(apiModelPath(service), serializeApiModel(model));
  console.log(
    `${service}: ${Object.keys(model.operations).length} operations, ${Object.keys(model.shapes).length} shapes (botocore ${install.version})`,
  );
}
