// Drives Debian's Chromium (puppeteer-core) through the dashboard of a
// workspace that tests/ui_browser_test.py built and serves, and prints what
// it saw as one JSON object on stdout; the Python test judges it.
//   node run.mjs CONFIG.json
// CONFIG: {base, chromium, screenshots, admin_key, viewer_key, pages: [[name, hash]],
//          run_page, lineage_page, feedback_page, pipeline_page}
import fs from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const result = { pages: {}, console_errors: [], failed_requests: [], charts: {}, viewer: {} };

function watch(page, sink) {
  page.on("console", (msg) => { if (msg.type() === "error") sink.console_errors.push(`${page.url()}: ${msg.text()}`); });
  page.on("pageerror", (err) => sink.console_errors.push(`${page.url()}: ${err.message}`));
  page.on("requestfailed", (req) => sink.failed_requests.push(`${req.url()}: ${req.failure() && req.failure().errorText}`));
  page.on("response", (res) => { if (res.status() >= 400) sink.failed_requests.push(`${res.url()}: ${res.status()}`); });
}

// Waits until a render that started after `before` has drawn the page of
// `hash` (a render still running from an earlier change may finish first).
async function rendered(page, before, hash) {
  const path = hash.replace(/^#/, "").split("?")[0] || "/";
  await page.waitForFunction((n, p) => (window.enclaveRenders || 0) > n && document.querySelector("main").dataset.loaded === p,
    { timeout: 15000 }, before, path);
}

// Goes to a hash route and waits until its page has rendered.
async function visit(page, hash) {
  const before = await page.evaluate(() => window.enclaveRenders || 0);
  await page.evaluate((h) => { location.hash = h; }, hash);
  await rendered(page, before, hash);
  const error = await page.$eval("main", (m) => (m.querySelector("p.error") || {}).textContent || "");
  return error;
}

async function signIn(page, key) {
  await page.goto(config.base + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#api-key", { timeout: 15000 });
  const before = await page.evaluate(() => window.enclaveRenders || 0);
  await page.type("#api-key", key);
  await page.click("#sign-in button[type=submit]");
  await page.waitForFunction((n) => (window.enclaveRenders || 0) > n, { timeout: 15000 }, before);
}

const browser = await puppeteer.launch({
  executablePath: config.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--lang=en-US"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  watch(page, result);
  await signIn(page, config.admin_key);
  for (const [name, hash] of config.pages) {
    const error = await visit(page, hash);
    result.pages[name] = { error, text: (await page.$eval("main", (m) => m.innerText)).slice(0, 4000) };
    if (hash === config.run_page) result.charts = await page.evaluate(() => window.enclaveCharts);
    await page.screenshot({ path: path.join(config.screenshots, `${name}.png`) });
  }

  // Korean text from the switch.
  await visit(page, "#/");
  let n = await page.evaluate(() => window.enclaveRenders || 0);
  await page.select("#lang", "ko");
  await rendered(page, n, "#/");
  result.korean_nav = await page.$eval("#nav-runs", (a) => a.textContent);
  await page.screenshot({ path: path.join(config.screenshots, "home-ko.png") });
  n = await page.evaluate(() => window.enclaveRenders || 0);
  await page.select("#lang", "en");
  await rendered(page, n, "#/");

  // Lineage: from the model's graph to the dataset it was trained on.
  await visit(page, config.lineage_page);
  const before = await page.evaluate(() => window.enclaveRenders || 0);
  await page.click("#lineage g.node.dataset");
  await page.waitForFunction(() => location.hash.startsWith("#/datasets/"), { timeout: 15000 });
  await rendered(page, before, await page.evaluate(() => location.hash));
  result.lineage_reached = await page.evaluate(() => location.hash);
  result.lineage_report = await page.$eval("#report", (e) => e.textContent).catch(() => "");

  // Approving the first pending feedback item.
  await visit(page, config.feedback_page);
  result.feedback_request = await page.$eval(".feedback-item", (e) => e.dataset.request);
  n = await page.evaluate(() => window.enclaveRenders || 0);
  await page.click(".feedback-item button.approve");
  await rendered(page, n, config.feedback_page);

  // Approving the pipeline stage that waits.
  await visit(page, config.pipeline_page);
  n = await page.evaluate(() => window.enclaveRenders || 0);
  await page.click("button.approve-stage");
  await rendered(page, n, config.pipeline_page);
  await page.screenshot({ path: path.join(config.screenshots, "pipeline-approved.png"), fullPage: true });

  // A viewer sees the buttons disabled, and the API refuses the change.
  const viewerContext = await browser.createBrowserContext();
  const viewer = await viewerContext.newPage();
  const viewerLog = { console_errors: [], failed_requests: [] };
  watch(viewer, viewerLog);
  await signIn(viewer, config.viewer_key);
  await visit(viewer, config.feedback_page);
  result.viewer.buttons_disabled = await viewer.$$eval(".feedback-item button.approve", (bs) => bs.length > 0 && bs.every((b) => b.disabled));
  result.viewer.review_status = await viewer.evaluate(async () => {
    const s = await (await fetch("/api/v1/session")).json();
    const item = document.querySelector(".feedback-item");
    const res = await fetch("/api/v1/feedback/review", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf },
      body: JSON.stringify({ request_id: item.dataset.request, decision: "approved" }) });
    return res.status;
  });
  result.viewer.decide_status = await viewer.evaluate(async (run) => {
    const s = await (await fetch("/api/v1/session")).json();
    const res = await fetch("/api/v1/pipelines/decide", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf },
      body: JSON.stringify({ run, stage: "deploy", decision: "reject" }) });
    return res.status;
  }, config.pipeline_run);
  // Without the CSRF token even the admin's session may not change anything
  // (the refusal it logs is expected, and left out of the page errors).
  const errorsBefore = result.console_errors.length;
  const failedBefore = result.failed_requests.length;
  result.no_csrf_status = await page.evaluate(async () => {
    const res = await fetch("/api/v1/feedback/review", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ request_id: "x", decision: "approved" }) });
    return res.status;
  });
  result.refusal_logged = result.failed_requests.slice(failedBefore);
  result.console_errors.length = errorsBefore;
  result.failed_requests.length = failedBefore;
  await viewer.screenshot({ path: path.join(config.screenshots, "feedback-viewer.png"), fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
