import { LOCAL_CONFIG } from '../../config/local-environment';
import { type EnvironmentConfig, resolveEnvironmentConfig } from '../../lib/config';
import type { ConnectorProfile } from '../stand-ins/appflow/connector-catalog';
import type { Scenario } from './scenario';

export function localEnvironmentConfig(overrides: Partial<Record<string, unknown>> = {}): EnvironmentConfig {
  return resolveEnvironmentConfig({ local: { ...LOCAL_CONFIG, ...overrides } }, 'local');
}

/** The run's environment: the local config plus the scenario's `sources` (issue 14). */
export function scenarioEnvironmentConfig(scenario: Pick<Scenario, 'sources'>): EnvironmentConfig {
  return localEnvironmentConfig(scenario.sources ? { sources: scenario.sources } : {});
}

/**
 * Every connector profile that exists in the run: the environment's Salesforce and Redshift
 * profiles and the scenario's `connectorProfiles`.
 */
export function scenarioConnectorProfiles(scenario: Pick<Scenario, 'connectorProfiles'>): ConnectorProfile[] {
  const profiles: ConnectorProfile[] = [
    { name: LOCAL_CONFIG.source.connectorProfileName, connectorType: 'Salesforce' },
    { name: LOCAL_CONFIG.source.redshiftConnectorProfileName, connectorType: 'Redshift' },
  ];
  for (const profile of scenario.connectorProfiles ?? []) {
    if (profiles.some((known) => known.name === profile.name)) {
      throw new Error(`Scenario: connector profile ${profile.name} is defined twice`);
    }
    profiles.push({ ...profile });
  }
  return profiles;
}

/** The connected app and integration user of the simulated org (the API-limits secret names them). */
export const LOCAL_CONNECTED_APP = { clientId: 'local-connected-app', username: 'integration@local.example' };
