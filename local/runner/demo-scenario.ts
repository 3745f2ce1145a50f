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

function id(prefix: string, n: number): string {
  return `${prefix}Dm${String(n).padStart(11, '0')}AAA`;
}

export interface DemoOptions {
  /** Generated records per object on the first day. @default 40 contacts, 30 opportunities */
  contacts?: number;
  opportunities?: number;
}

/**
 * The bundled demo: Account starts from the records a Salesforce developer org ships with,
 * Contact and Opportunity are generated; four days of inserts, updates, deletes, a new
 * Account field on day 2 (structure sync, reload) and a rerun of day 3 on day 4.
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
    Amount: Math.round(random() * 500) * 100,
    Probability: Math.round(random() * 10) * 10,
    CloseDate: `2026-0${4 + Math.floor(random() * 5)}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`,
    AccountId: pick(random, accountIds),
  });
  const contacts = Array.from({ length: contactCount }, (_, n) => contact(n + 1));
  const opportunities = Array.from({ length: opportunityCount }, (_, n) => opportunity(n + 1));
  const day3 = {
    Opportunity: {
      upsert: opportunities
        .slice(0, 8)
        .map((deal, n) => ({ Id: deal.Id, StageName: n % 2 ? 'Closed Won' : 'Closed Lost' })),
      delete: [opportunities[9].Id],
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
          fields: ['Name', 'StageName', 'Amount', 'Probability', 'CloseDate', 'AccountId'],
        },
      ],
      sourceObjects: {
        Account: {
          fields: ['Type', 'BillingState', 'Rating', 'Industry'].map((name) => ({
            name,
            type: 'string' as const,
          })),
        },
        Contact: {
          fields: [
            { name: 'FirstName', type: 'string' },
            { name: 'LastName', type: 'string' },
            { name: 'Email', type: 'string' },
            { name: 'Title', type: 'string' },
            { name: 'AccountId', type: 'reference' },
          ],
        },
        Opportunity: {
          fields: [
            { name: 'StageName', type: 'picklist' },
            { name: 'Amount', type: 'double' },
            { name: 'Probability', type: 'double' },
            { name: 'CloseDate', type: 'date' },
            { name: 'AccountId', type: 'reference' },
            { name: 'Description', type: 'string' },
          ],
        },
      },
      days: [
        {
          date: '2026-03-02',
          changes: {
            Account: { upsert: sampleAccounts },
            Contact: { upsert: contacts },
            Opportunity: { upsert: opportunities },
          },
        },
        {
          date: '2026-03-03',
          changes: {
            // A new custom field appears at the source: the pipeline adds the column and reloads Account.
            Account: {
              upsert: accountIds
                .slice(0, 4)
                .map((accountId, n) => ({ Id: accountId, CustomerPriority__c: ['High', 'Low'][n % 2] })),
            },
            Contact: {
              upsert: [
                contact(contactCount + 1),
                contact(contactCount + 2),
                { Id: contacts[0].Id, Title: 'CEO' },
              ],
              delete: [contacts[1].Id, contacts[2].Id],
            },
            Opportunity: {
              upsert: [opportunity(opportunityCount + 1), { Id: opportunities[0].Id, Amount: 12_500 }],
            },
          },
        },
        { date: '2026-03-04', changes: day3 },
        // An operator reruns 2026-03-04: nothing new at the source, nothing may be duplicated.
        { date: '2026-03-04', changes: {} },
      ],
    },
    'demo scenario',
  );
}
