import sampleAccounts from '../data/salesforce-sample-accounts.json';
import { parseScenario, type Scenario } from './scenario';

/** mulberry32: a tiny seeded generator, so the demo's data is the same on every machine. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST_NAMES = [
  'Ava',
  'Ben',
  'Chloe',
  'Dev',
  'Elena',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Keira',
  'Luis',
];
const LAST_NAMES = ['Adams', 'Brown', 'Chen', 'Diaz', 'Evans', 'Fischer', 'Garcia', 'Hughes', 'Ito', 'Jones'];
const STAGES = [
  'Prospecting',
  'Qualification',
  'Proposal/Price Quote',
  'Negotiation/Review',
  'Closed Won',
  'Closed Lost',
];
const TITLES = ['CFO', 'VP Sales', 'Buyer', 'IT Manager', 'Engineer', 'Office Manager'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** AnnualRevenue and NumberOfEmployees of the developer org's sample accounts, by name (where it has them). */
const SAMPLE_ACCOUNT_FIGURES: Record<string, { AnnualRevenue: number; NumberOfEmployees: number }> = {
  'Edge Communications': { AnnualRevenue: 139_000_000, NumberOfEmployees: 1000 },
  'Burlington Textiles Corp of America': { AnnualRevenue: 350_000_000, NumberOfEmployees: 9000 },
  'Pyramid Construction Inc.': { AnnualRevenue: 950_000_000, NumberOfEmployees: 2680 },
  'Dickenson plc': { AnnualRevenue: 50_000_000, NumberOfEmployees: 120 },
  'Grand Hotels & Resorts Ltd': { AnnualRevenue: 500_000_000, NumberOfEmployees: 5600 },
  'United Oil & Gas Corp.': { AnnualRevenue: 5_600_000_000, NumberOfEmployees: 145_000 },
  'Express Logistics and Transport': { AnnualRevenue: 950_000_000, NumberOfEmployees: 12_300 },
  GenePoint: { AnnualRevenue: 30_000_000, NumberOfEmployees: 265 },
};

function id(prefix: string, n: number): string {
  // Salesforce ids are 18 characters: 3-character key prefix, 12-character record part, 3-character checksum.
  return `${prefix}Dm${String(n).padStart(10, '0')}AAA`;
}

export interface DemoOptions {
  /** Generated records per object on the first day. @default 40 contacts, 30 opportunities */
  contacts?: number;
  opportunities?: number;
}

/**
 * The bundled demo: Account starts from the records a Salesforce developer org ships with,
 * Contact and Opportunity are generated; the objects carry Salesforce's field types as a
 * real org describes them (currency, percent, textarea, phone, url, picklist, reference, …).
 * Four days of inserts, updates, deletes, a new Account field on day 2 (structure sync, then a
 * column refresh fills it for the records that had it already), Opportunity's formula field
 * ExpectedRevenue recalculated without moving the cursor (the daily column refresh brings it), a
 * day 3 on which AppFlow writes a retried page of Opportunity twice (`DuplicateWrite`: the
 * procedure removes the duplicates) and a rerun of day 3 on day 4.
 * Opportunity keeps history: every captured version of each deal (`--dump` writes
 * `opportunity.history.json`).
 */
export function demoScenario(options: DemoOptions = {}): Scenario {
  const random = seededRandom(20260301);
  const accountIds = sampleAccounts.map((account) => account.Id);
  const contactCount = options.contacts ?? 40;
  const opportunityCount = options.opportunities ?? 30;
  const contact = (n: number) => {
    const first = pick(random, FIRST_NAMES);
    const last = pick(random, LAST_NAMES);
    return {
      Id: id('003', n),
      FirstName: first,
      LastName: last,
      Name: `${first} ${last}`,
      Email: `${first}.${last}${n}@example.com`.toLowerCase(),
      Title: pick(random, TITLES),
      AccountId: pick(random, accountIds),
    };
  };
  const opportunity = (n: number) => ({
    Id: id('006', n),
    Name: `Deal ${n}`,
    StageName: pick(random, STAGES.slice(0, 4)),
    // Currency with cents: loaded as exact DECIMAL(18,2), never through a float.
    Amount: Math.round(random() * 5_000_000) / 100,
    Probability: Math.round(random() * 10) * 10,
    Description: n % 3 === 0 ? `Renewal of ${n} seats — terms in the signed quote (€, 𝄞 and all).` : null,
    CloseDate: `2026-0${4 + Math.floor(random() * 5)}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
    AccountId: pick(random, accountIds),
  });
  const contacts = Array.from({ length: contactCount }, (_, n) => contact(n + 1));
  const opportunities = Array.from({ length: opportunityCount }, (_, n) => opportunity(n + 1));
  // Salesforce's own formula: Amount × Probability. Read-only, it moves no SystemModstamp (recompute).
  const expectedRevenue = (deal: { Id: string; Amount: number; Probability: number }, factor = 1) => ({
    Id: deal.Id,
    ExpectedRevenue: Math.round(deal.Amount * deal.Probability * factor) / 100,
  });
  // Day 2's new records (generated in this order, so the demo's data stays what it was).
  const newContacts = [contact(contactCount + 1), contact(contactCount + 2)];
  const newDeal = opportunity(opportunityCount + 1);
  const day3 = {
    Opportunity: {
      upsert: opportunities
        .slice(0, 8)
        .map((deal, n) => ({ Id: deal.Id, StageName: n % 2 ? 'Closed Won' : 'Closed Lost' })),
      delete: [opportunities[9].Id],
      // A probability rule changed at the source: two formulas recalculate, no cursor moves.
      recompute: opportunities.slice(10, 12).map((deal) => expectedRevenue(deal, 1.1)),
    },
    Account: { upsert: [{ Id: accountIds[2], Rating: 'Hot' }], delete: [accountIds[12]] },
  };

  return parseScenario(
    {
      objects: [
        { objectName: 'Account' },
        { objectName: 'Contact', deleteMode: 'soft', lookbackMinutes: 120 },
        {
          objectName: 'Opportunity',
          fields: [
            'Name',
            'StageName',
            'Amount',
            'Probability',
            'ExpectedRevenue',
            'CloseDate',
            'AccountId',
            'Description',
          ],
          // Every captured version of each deal (issue 22): how long deals sat in each stage.
          history: true,
        },
      ],
      // Field types, lengths, precision and scale as a developer org's describe reports them.
      sourceObjects: {
        Account: {
          fields: [
            { name: 'Type', type: 'picklist', length: 255 },
            { name: 'BillingState', type: 'string', length: 80 },
            { name: 'Rating', type: 'picklist', length: 255 },
            { name: 'Industry', type: 'picklist', length: 255 },
            { name: 'AnnualRevenue', type: 'currency', precision: 18, scale: 2 },
            { name: 'NumberOfEmployees', type: 'int', precision: 8, scale: 0 },
            { name: 'Phone', type: 'phone', length: 40 },
            { name: 'Website', type: 'url', length: 255 },
            { name: 'Description', type: 'textarea', length: 32_000 },
          ],
        },
        Contact: {
          fields: [
            { name: 'FirstName', type: 'string', length: 40 },
            { name: 'LastName', type: 'string', length: 80 },
            { name: 'Email', type: 'email', length: 80 },
            { name: 'Title', type: 'string', length: 128 },
            { name: 'AccountId', type: 'reference', length: 18 },
          ],
        },
        Opportunity: {
          fields: [
            { name: 'StageName', type: 'picklist', length: 255 },
            { name: 'Amount', type: 'currency', precision: 18, scale: 2 },
            { name: 'Probability', type: 'percent', precision: 3, scale: 0 },
            { name: 'ExpectedRevenue', type: 'currency', precision: 18, scale: 2, formula: true },
            { name: 'CloseDate', type: 'date' },
            { name: 'AccountId', type: 'reference', length: 18 },
            { name: 'Description', type: 'textarea', length: 32_000 },
          ],
        },
      },
      days: [
        {
          date: '2026-03-02',
          changes: {
            Account: {
              upsert: sampleAccounts.map((account) => ({
                ...account,
                ...SAMPLE_ACCOUNT_FIGURES[account.Name],
              })),
            },
            Contact: { upsert: contacts },
            Opportunity: {
              upsert: opportunities,
              recompute: opportunities.map((deal) => expectedRevenue(deal)),
            },
          },
        },
        {
          date: '2026-03-03',
          changes: {
            // A new custom field appears at the source: the pipeline adds the column, and a column
            // refresh fills it for every record (these four moved their cursor anyway).
            Account: {
              upsert: accountIds
                .slice(0, 4)
                .map((accountId, n) => ({ Id: accountId, CustomerPriority__c: ['High', 'Low'][n % 2] })),
            },
            Contact: {
              upsert: [...newContacts, { Id: contacts[0].Id, Title: 'CEO' }],
              delete: [contacts[1].Id, contacts[2].Id],
            },
            Opportunity: {
              upsert: [newDeal, { Id: opportunities[0].Id, Amount: 12_500 }],
              recompute: [expectedRevenue(newDeal), expectedRevenue({ ...opportunities[0], Amount: 12_500 })],
            },
          },
        },
        {
          date: '2026-03-04',
          changes: day3,
          // AppFlow retries a page of Opportunity and writes it twice: staging holds two
          // versions of those keys, the consolidation keeps one ("dupes removed").
          faults: [{ service: 'appflow', operation: 'DuplicateWrite', object: 'Opportunity', times: 1 }],
        },
        // An operator reruns 2026-03-04: nothing new at the source, nothing may be duplicated.
        { date: '2026-03-04', changes: {} },
      ],
    },
    'demo scenario',
  );
}
