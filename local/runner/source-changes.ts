import { OBJECT_NAME_PATTERN } from '../../lambdas/common/control-row';
import type { ConnectorProfile } from '../stand-ins/appflow/connector-catalog';
import type { SourceOrg } from '../stand-ins/source-org';
import type { ObjectChanges, Scenario, ScenarioDay } from './scenario';

/**
 * The scenario's source objects in the simulated org: every entity a control row reads, every
 * `sourceObjects` entry (fields, profile, keys), and every object a day changes.
 */
export function defineSourceObjects(org: SourceOrg, scenario: Scenario, profiles: ConnectorProfile[]): void {
  const names = new Set<string>();
  for (const row of scenario.objects) {
    // A row reading another entity (issue 14: `entityName`) needs that entity, not one named like the row.
    if (typeof row.entityName === 'string' && row.entityName !== '') names.add(row.entityName);
    else if (typeof row.objectName === 'string' && OBJECT_NAME_PATTERN.test(row.objectName))
      names.add(row.objectName);
  }
  for (const name of Object.keys(scenario.sourceObjects ?? {})) names.add(name);
  for (const day of scenario.days) {
    for (const name of Object.keys(day.changes)) names.add(name);
    for (const name of Object.keys(day.alterFields ?? {})) names.add(name);
  }
  for (const name of names) {
    if (org.hasObject(name)) continue;
    const declared: NonNullable<Scenario['sourceObjects']>[string] = scenario.sourceObjects?.[name] ?? {
      fields: [],
    };
    const { fields = [], ...options } = declared;
    let connectorType: string | undefined;
    if (options.profile !== undefined) {
      const profile = profiles.find((candidate) => candidate.name === options.profile);
      if (!profile || profile.connectorType === 'Redshift') {
        const known = profiles.filter((candidate) => candidate.connectorType !== 'Redshift');
        throw new Error(
          `Scenario: sourceObjects.${name}.profile ${options.profile} is not a source connector profile (known: ${known.map((candidate) => candidate.name).join(', ')})`,
        );
      }
      connectorType = profile.connectorType;
    }
    org.defineObject(name, fields, { ...options, ...(connectorType ? { connectorType } : {}) });
  }
}

/**
 * A day's `changes` (or `midRunChanges`, one object at a time) made in the simulated org: upserts,
 * deletes and purges, then `recompute` (issue 21): values set without moving the cursor, as
 * Salesforce recalculates a formula (upsert refuses a value for a formula field, as Salesforce does).
 */
export function applyChanges(
  org: SourceOrg,
  changes: Record<string, ObjectChanges>,
  onlyObject?: string,
): void {
  for (const [objectName, change] of Object.entries(changes)) {
    if (onlyObject && objectName !== onlyObject) continue;
    if (change.upsert.length > 0) org.upsert(objectName, change.upsert);
    if (change.delete.length > 0) org.delete(objectName, change.delete);
    if (change.purge.length > 0) org.purge(objectName, change.purge);
    if (change.recompute.length > 0) org.recompute(objectName, change.recompute);
  }
}

/**
 * A day's `alterFields` (issue 21): fields' declared types change (or fields appear) from this day
 * on, before the day's changes; existing values convert as Salesforce converts them.
 */
export function alterFields(org: SourceOrg, alterations: ScenarioDay['alterFields']): void {
  for (const [entity, fields] of Object.entries(alterations ?? {})) org.alterFields(entity, fields);
}
