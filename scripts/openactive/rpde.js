// Walks an RPDE feed on 127.0.0.1 with @openactive/rpde-validator; exits 1 on any failure.
const { RpdeValidator } = require('@openactive/rpde-validator');
(async () => {
  let failures = 0;
  for (const url of process.argv.slice(2)) {
    const result = await RpdeValidator(url, { pageLimit: 20, timeoutMs: 20000, logCallback: () => {} });
    const list = [];
    for (const page of result.pages) for (const e of page.errors) list.push({ ...e, url: page.url });
    console.log(`${url}: ${result.pages.length} pages walked`);
    const bad = list.filter((e) => (e.data || e).severity === 'failure');
    failures += bad.length;
    console.log(`${url}: ${list.length} messages, ${bad.length} failures`);
    for (const e of list) console.log(JSON.stringify({ ...e, value: undefined }).slice(0, 600));
  }
  process.exit(failures ? 1 : 0);
})();
