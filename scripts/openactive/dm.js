// Validates every "updated" item of the given RPDE feeds with @openactive/data-model-validator,
// offline (see validate-items.js). Prints a count of each message; exits 1 on any failure.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { seedCache, validateAll } = require('./validate-items');

async function items(url) {
  const found = [];
  for (let i = 0; i < 10000; i += 1) {
    const page = await (await fetch(url)).json();
    if (page.items.length === 0) return found;
    found.push(...page.items.filter((item) => item.state === 'updated').map((item) => item.data));
    url = page.next;
  }
  throw new Error('feed did not end');
}

(async () => {
  const cache = process.env.OA_CACHE || fs.mkdtempSync(path.join(os.tmpdir(), 'oa-cache-'));
  seedCache(cache);
  const all = [];
  for (const url of process.argv.slice(2)) all.push(...await items(url));
  const messages = await validateAll(all, cache);
  const counts = {};
  for (const m of messages) {
    const key = `[${m.severity}] ${m.type} ${m.path}: ${m.message.slice(0, 160).replace(/\n/g, ' ')}`;
    counts[key] = (counts[key] || 0) + 1;
  }
  const failures = messages.filter((m) => m.severity === 'failure').length;
  console.log(`${all.length} items validated, ${failures} failures`);
  for (const [key, n] of Object.entries(counts).sort()) console.log(`${n}× ${key}`);
  process.exit(failures ? 1 : 0);
})();
