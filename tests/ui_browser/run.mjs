// Drives browsers (puppeteer-core: Debian's Chromium over CDP, Debian's
// Firefox ESR over WebDriver BiDi) through the dashboard of a workspace that
// tests/ui_browser_test.py builds and serves, all at once (one process each,
// a pass each), and prints what each saw as one JSON object on stdout,
// {BROWSER: result}; the Python test judges it.
//   node run.mjs chromium=PATH firefox=PATH < CONFIG.json
// The browsers start at once; the config is read from stdin when it comes
// (the test builds its workspace meanwhile). An empty stdin closes them.
// CONFIG: {base, screenshots (a folder per browser is made in it),
//          admin_key, viewer_key, pages: [[name, hash]], run_page,
//          lineage_page, feedback_page, pipeline_page, pipeline_run,
//          feedback: {BROWSER: the request id it approves}, full: BROWSER,
//          ui_url: the sign-in URL of an `enclave ui` over the same workspace}
// Every browser visits every page, reads the curves and the live serving
// indicator, switches to Korean, clicks through the lineage and approves
// its feedback item. The `full` browser also watches the indicator follow a
// new request in a tab of its own, reads it from `enclave ui` alone,
// approves the pipeline stage, and checks that a viewer and a request
// without the CSRF token are refused (each of those changes the store once,
// so one browser does them).
import fs from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const executables = Object.fromEntries(process.argv.slice(2).map((a) => a.split(/=(.*)/s).slice(0, 2)));
const browsers = Object.keys(executables);
let config = null;

const launchOptions = {
  chromium: () => ({
    executablePath: executables.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--lang=en-US"],
  }),
  // WebDriver BiDi, puppeteer's protocol for Firefox; preferences instead
  // of Chromium's switches.
  firefox: () => ({
    browser: "firefox",
    executablePath: executables.firefox,
    headless: true,
    extraPrefsFirefox: { "intl.accept_languages": "en-US", "intl.locale.requested": "en-US" },
  }),
};
for (const name of browsers) {
  if (!launchOptions[name]) throw new Error(`unknown browser '${name}': expected chromium or firefox`);
}

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

const renders = (page) => page.evaluate(() => window.enclaveRenders || 0);

// Goes to a hash route and waits until its page has rendered.
async function visit(page, hash) {
  const before = await renders(page);
  await page.evaluate((h) => { location.hash = h; }, hash);
  await rendered(page, before, hash);
  const error = await page.$eval("main", (m) => (m.querySelector("p.error") || {}).textContent || "");
  return error;
}

async function signIn(page, key) {
  await page.goto(config.base + "/", { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#api-key", { timeout: 15000 });
  const before = await renders(page);
  await page.type("#api-key", key);
  await page.click("#sign-in button[type=submit]");
  await page.waitForFunction((n) => (window.enclaveRenders || 0) > n, { timeout: 15000 }, before);
}

async function switchLanguage(page, lang) {
  const n = await renders(page);
  await page.select("#lang", lang);
  await rendered(page, n, "#/");
}

// What the live serving indicator on the home page shows now.
const liveCard = (page) => page.$eval("#serving-live", (c) => ({ ...c.dataset, text: c.innerText }));

// The live indicator follows the server without a reload: after a new
// completion request its count of answered requests goes up. In a tab of
// its own (the same context: signed in), with a screenshot.
async function watchLiveIndicator(browser, result, shots) {
  const live = result.live;
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  watch(page, result);
  await page.goto(config.base + "/#/", { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => document.querySelector("main").dataset.loaded === "/" && document.querySelector("#serving-live"),
    { timeout: 15000 });
  live.before = await liveCard(page);
  await page.evaluate(() => { window.enclaveNotReloaded = true; });
  const n = await renders(page);
  const res = await fetch(config.base + "/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: "Bearer " + config.admin_key },
    body: JSON.stringify({ model: "assistant", max_tokens: 2, messages: [{ role: "user", content: "Are you up?" }] }),
  });
  live.request_status = res.status;
  await res.text();
  // While the page waits for its next poll, `enclave ui` alone.
  await Promise.all([
    page.waitForFunction((g) => Number(document.querySelector("#serving-live").dataset.generations) > g,
      { timeout: 15000 }, Number(live.before.generations)),
    checkUiAlone(browser, live)]);
  live.after = await liveCard(page);
  live.not_reloaded = await page.evaluate((r) => window.enclaveNotReloaded === true && window.enclaveRenders === r, n);
  await page.screenshot({ path: path.join(shots, "home-live.png") });
  await page.close();
}

// `enclave ui` alone (token mode) knows no server: its indicator judges
// from the request log. A context of its own: cookies do not tell ports
// apart, so its session cookie would replace the server's.
async function checkUiAlone(browser, live) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  watch(page, live.ui_alone_log = { console_errors: [], failed_requests: [] });
  await page.goto(config.ui_url, { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => document.querySelector("main").dataset.loaded === "/", { timeout: 15000 });
  live.ui_alone = await liveCard(page);
  await context.close();
}

// A viewer sees the review buttons disabled, and the API refuses its
// changes; without the CSRF token even the admin's session may not change
// anything (the refusal it logs is expected, and left out of the errors).
async function checkRefusals(browser, page, result, shots) {
  const viewerContext = await browser.createBrowserContext();
  const viewer = await viewerContext.newPage();
  watch(viewer, { console_errors: [], failed_requests: [] });
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
  await viewer.screenshot({ path: path.join(shots, "feedback-viewer.png"), fullPage: true });
}

async function pass(name, browser, result) {
  const shots = path.join(config.screenshots, name);
  fs.mkdirSync(shots, { recursive: true });
  // Milliseconds each part took, for the test's log.
  let lap = Date.now();
  const timed = (part) => {
    const now = Date.now();
    result.ms[part] = now - lap;
    lap = now;
  };
  try {
    result.version = await browser.version();
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    watch(page, result);
    await signIn(page, config.admin_key);
    timed("sign_in");
    // Signed in (the cookie is the context's): the live indicator is
    // watched in a tab of its own while this one goes through the pages.
    const live = config.full === name ? watchLiveIndicator(browser, result, shots) : null;
    // Settled here too, so that a failure waits for the await below.
    if (live) live.catch(() => {});
    for (const [pageName, hash] of config.pages) {
      const error = await visit(page, hash);
      result.pages[pageName] = { error, text: (await page.$eval("main", (m) => m.innerText)).slice(0, 4000) };
      if (hash === config.run_page) result.charts = await page.evaluate(() => window.enclaveCharts);
      if (hash === "#/") result.live.home = await liveCard(page);
      if (hash === config.lineage_page) {
        // The stylesheet's rounded corners (a CSS length the browser must accept).
        result.node_corner = await page.$eval("#lineage g.node rect", (r) => getComputedStyle(r).rx);
      }
      await page.screenshot({ path: path.join(shots, `${pageName}.png`) });
    }
    timed("pages");

    // Korean text from the switch.
    await visit(page, "#/");
    await switchLanguage(page, "ko");
    result.korean_nav = await page.$eval("#nav-runs", (a) => a.textContent);
    result.korean_live = await page.$eval("#serving-live h2", (e) => e.textContent);
    await page.screenshot({ path: path.join(shots, "home-ko.png") });
    await switchLanguage(page, "en");
    timed("korean");

    // Lineage: from the model's graph to the dataset it was trained on.
    await visit(page, config.lineage_page);
    const before = await renders(page);
    await page.click("#lineage g.node.dataset");
    await page.waitForFunction(() => location.hash.startsWith("#/datasets/"), { timeout: 15000 });
    await rendered(page, before, await page.evaluate(() => location.hash));
    result.lineage_reached = await page.evaluate(() => location.hash);
    result.lineage_report = await page.$eval("#report", (e) => e.textContent).catch(() => "");
    timed("lineage");

    // Approving this browser's feedback item.
    await visit(page, config.feedback_page);
    const n = await renders(page);
    await page.click(`.feedback-item[data-request="${config.feedback[name]}"] button.approve`);
    await rendered(page, n, config.feedback_page);
    result.feedback_pending = await page.$$eval(".feedback-item", (items) => items.map((e) => e.dataset.request));
    timed("feedback");

    if (live) {
      await live;
      timed("live_wait");

      // Approving the pipeline stage that waits.
      await visit(page, config.pipeline_page);
      const m = await renders(page);
      await page.click("button.approve-stage");
      await rendered(page, m, config.pipeline_page);
      await page.screenshot({ path: path.join(shots, "pipeline-approved.png"), fullPage: true });
      await checkRefusals(browser, page, result, shots);
      timed("pipeline_and_refusals");
    }
  } finally {
    await browser.close();
    timed("close");
  }
  return result;
}

// Starts a browser; never rejects (what failed is kept for the report).
async function launch(name) {
  const started = Date.now();
  try {
    const browser = await puppeteer.launch(launchOptions[name]());
    return { browser, ms: Date.now() - started };
  } catch (error) {
    return { error };
  }
}

const launching = browsers.map(launch);
let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const launched = await Promise.all(launching);
if (input.trim() === "") {
  // Nothing to do (the test did not get as far): close what started.
  await Promise.all(launched.filter((l) => l.browser).map((l) => l.browser.close()));
  process.exit(0);
}
config = JSON.parse(input);
// Every pass runs to its end (and closes its browser) even when another fails.
const settled = await Promise.allSettled(launched.map((l, i) => {
  if (l.error) return Promise.reject(l.error);
  const result = { pages: {}, console_errors: [], failed_requests: [], charts: {}, viewer: {}, live: {}, ms: { launch: l.ms } };
  return pass(browsers[i], l.browser, result);
}));
const failed = settled.map((s, i) => [browsers[i], s]).filter(([, s]) => s.status === "rejected");
for (const [name, s] of failed) process.stderr.write(`${name}: ${s.reason && s.reason.stack ? s.reason.stack : s.reason}\n`);
if (failed.length > 0) process.exit(1);
process.stdout.write(JSON.stringify(Object.fromEntries(browsers.map((b, i) => [b, settled[i].value]))) + "\n");
