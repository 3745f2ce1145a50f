import { LOCAL_CONFIG } from '../../config/local-environment';
import { type EnvironmentConfig, resolveEnvironmentConfig } from '../../lib/config';

export { LOCAL_CONFIG };

export function localEnvironmentConfig(overrides: Partial<Record<string, unknown>> = {}): EnvironmentConfig {
  return resolveEnvironmentConfig({ local: { ...LOCAL_CONFIG, ...overrides } }, 'local');
}
