// Validates every "updated" item of the given RPDE feeds with @openactive/data-model-validator, offline:
// the activity list comes from a seeded remote-JSON cache (see seedCache). Exits 1 on any failure.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { validate } = require('@openactive/data-model-validator');

const LISTS = process.env.OPENACTIVE_LISTS || 'tests/data/openactive';
const CACHE = process.env.OA_CACHE || path.join(__dirname, 'cache');

function seedCache() {
  fs.mkdirSync(CACHE, { recursive: true });
  const seeds = {
    'https://openactive.io/activity-list': 'activity-list.jsonld',
    'https://openactive.io/activity-list/activity-list.jsonld': 'activity-list.jsonld',
    'https://www.openactive.io/activity-list/activity-list.jsonld': 'activity-list.jsonld',
    'http://openactive.io/activity-list/activity-list.jsonld': 'activity-list.jsonld',
    'http://www.openactive.io/activity-list/activity-list.jsonld': 'activity-list.jsonld',
    'https://openactive.io/accessibility-support': 'accessibility-support.jsonld',
  };
  for (const [url, file] of Object.entries(seeds)) {
    const data = JSON.parse(fs.readFileSync(path.join(LISTS, file), 'utf8'));
    const key = crypto.createHash('sha256').update(url).digest('hex');
    const entry = { errorCode: 'error_none', data, statusCode: 200, url, exception: null,
      contentType: 'application/ld+json', fetchTime: Date.now() };
    fs.writeFileSync(path.join(CACHE, `${key}.json`), JSON.stringify(entry));
  }
}

async function items(url) {
  const found = [];
  for (let i = 0; i < 100; i += 1) {
    let page;
    for (let attempt = 0; ; attempt += 1) {
      try { page = await (await fetch(url)).json(); break; } catch (error) { if (attempt > 2) throw error; }
    }
    if (page.items.length === 0) return found;
    found.push(...page.items.filter((item) => item.state === 'updated'));
    url = page.next;
  }
  throw new Error('feed did not end');
}

(async () => {
  seedCache();
  const options = { loadRemoteJson: true, remoteJsonCachePath: CACHE, remoteJsonCacheTimeToLive: 10 * 365 * 24 * 3600 };
  const counts = {};
  let failures = 0;
  let total = 0;
  for (const url of process.argv.slice(2)) {
    for (const item of await items(url)) {
      total += 1;
      const result = await validate(item.data, options);
      for (const e of result) {
        const key = `[${e.severity}] ${item.data['@type']} ${e.type} ${e.path}: ${(e.message || '').slice(0, 200).replace(/\n/g, ' ')}`;
        counts[key] = (counts[key] || 0) + 1;
        if (e.severity === 'failure') failures += 1;
      }
    }
  }
  console.log(`${total} items validated, ${failures} failures`);
  for (const [key, n] of Object.entries(counts).sort()) console.log(`${n}× ${key}`);
  process.exit(failures ? 1 : 0);
})();
