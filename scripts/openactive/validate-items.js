// Validates OpenActive items with @openactive/data-model-validator, offline, and prints one JSON
// report: {"items": N, "messages": [{item, type, severity, path, message}, ...]}.
//   node validate-items.js ITEMS.json      (a JSON array of items' "data")
// The documents the validator would fetch (the activity list, the accessibility list, the beta
// namespace's context) come from OPENACTIVE_LISTS through its remote-JSON cache (OA_CACHE), whose
// time to live is ten years: nothing is fetched.
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { validate } = require('@openactive/data-model-validator');

const LISTS = process.env.OPENACTIVE_LISTS || 'tests/data/openactive';
const SEEDS = {
  'https://openactive.io/activity-list': 'activity-list.jsonld',
  'https://openactive.io/accessibility-support': 'accessibility-support.jsonld',
  'https://openactive.io/ns-beta': 'ns-beta.jsonld',
};

function seedCache(cache) {
  fs.mkdirSync(cache, { recursive: true });
  for (const [url, file] of Object.entries(SEEDS)) {
    const data = JSON.parse(fs.readFileSync(path.join(LISTS, file), 'utf8'));
    const key = crypto.createHash('sha256').update(url).digest('hex');
    const entry = { errorCode: 'error_none', data, statusCode: 200, url, exception: null,
      contentType: 'application/ld+json', fetchTime: Date.now() };
    fs.writeFileSync(path.join(cache, `${key}.json`), JSON.stringify(entry));
  }
}

async function validateAll(items, cache) {
  const options = { loadRemoteJson: true, remoteJsonCachePath: cache, remoteJsonCacheTimeToLive: 10 * 365 * 24 * 3600 };
  const messages = [];
  for (const data of items) {
    for (const e of await validate(data, options)) {
      messages.push({ item: data['@id'], type: e.type, severity: e.severity, path: e.path,
        message: (e.message || '').slice(0, 300) });
    }
  }
  return messages;
}

module.exports = { seedCache, validateAll };

if (require.main === module) {
  (async () => {
    const cache = process.env.OA_CACHE || fs.mkdtempSync(path.join(os.tmpdir(), 'oa-cache-'));
    seedCache(cache);
    const items = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const messages = await validateAll(items, cache);
    process.stdout.write(JSON.stringify({ items: items.length, messages }));
  })();
}
