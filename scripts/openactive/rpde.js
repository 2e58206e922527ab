// Walks RPDE feeds with @openactive/rpde-validator; exits 1 on any failure.
//   node rpde.js [--json] URL...
// With --json, prints one JSON report: [{"url", "pages", "messages": [{severity, type, message, url}]}].
const { RpdeValidator } = require('@openactive/rpde-validator');

async function readable(url) {
  try {
    const answer = await fetch(url);
    return answer.ok && Array.isArray((await answer.json()).items);
  } catch (error) {
    return false;
  }
}

(async () => {
  const json = process.argv[2] === '--json';
  const urls = process.argv.slice(json ? 3 : 2);
  const report = [];
  let failures = 0;
  for (const url of urls) {
    const result = await RpdeValidator(url, { pageLimit: 20, timeoutMs: 20000, logCallback: () => {} });
    const messages = [];
    for (const page of result.pages) {
      for (const e of page.errors) {
        const m = e.data || e;
        messages.push({ severity: m.severity, type: m.type, message: String(m.message || '').slice(0, 400), url: page.url });
      }
    }
    // The validator reports an unreachable feed as one page without errors, as it does an empty one.
    if (!(await readable(url))) {
      messages.push({ severity: 'failure', type: 'feed_not_read', message: 'the feed could not be read (is the server up?)', url });
    }
    failures += messages.filter((m) => m.severity === 'failure').length;
    report.push({ url, pages: result.pages.length, messages });
  }
  if (json) {
    process.stdout.write(JSON.stringify(report));
  } else {
    for (const feed of report) {
      console.log(`${feed.url}: ${feed.pages} pages walked, ${feed.messages.length} messages`);
      for (const m of feed.messages) console.log(`  [${m.severity}] ${m.type} ${m.url}: ${m.message.replace(/\n/g, ' ')}`);
    }
  }
  process.exit(failures ? 1 : 0);
})();
