// The web console end to end in headless Chromium, driven by Playwright (playwright-core, no
// bundled browsers): sign in, a validation error shown next to its field, create a customer and
// see its event arrive in the live panel, page through the list, edit it (and see the update
// live), meet a concurrent edit as a clear 412 conflict, delete it, see the consumer groups'
// lag and dead letters, and save a screenshot.
//
// Run by tests/browser.rs, which starts the platform pieces and passes, in the environment:
// GATEWAY_URL, ADMIN_PASSWORD, CHROMIUM_BIN, PLAYWRIGHT_NODE_PATH (the node_modules holding
// playwright-core), USER_DATA_DIR (fresh) and SCREENSHOT_PATH. Also saves the 422 and the 412
// states next to it (console-422.png, console-conflict.png). Exits non-zero on any failure,
// after saving a screenshot of the page as it was (console-failure.png).
import { createRequire } from "node:module";
import path from "node:path";
import assert from "node:assert/strict";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run through tests/browser.rs)`);
  return value;
}

const gateway = required("GATEWAY_URL");
const password = required("ADMIN_PASSWORD");
const screenshot = required("SCREENSHOT_PATH");
// NODE_PATH does not reach ES module imports: load playwright-core from its directory.
const require = createRequire(path.join(required("PLAYWRIGHT_NODE_PATH"), "noop.js"));
const { chromium } = require("playwright-core");

const WAIT = { timeout: 30_000 };
// Screenshots of intermediate states, next to the final one: console-<name>.png.
const sibling = (name) => screenshot.replace(/\.png$/, "") + `-${name}.png`;
const step = (text) => console.log(`[console.spec] ${text}`);

const context = await chromium.launchPersistentContext(required("USER_DATA_DIR"), {
  executablePath: required("CHROMIUM_BIN"),
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(30_000);
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => { if (m.type() === "error") console.log(`[browser console] ${m.text()}`); });

const byTestId = (id) => page.locator(`[data-testid="${id}"]`);
const row = (id) => page.locator(`[data-testid="row"][data-id="${id}"]`);
const liveEvent = (op, key, version) =>
  page.locator(`[data-testid="live-event"][data-op="${op}"][data-key="${key}"][data-version="${version}"]`);

let failed = false;
try {
  step(`open ${gateway}/ and sign in`);
  await page.goto(`${gateway}/`);
  await byTestId("login-username").fill("admin");
  await byTestId("login-password").fill(password);
  await byTestId("login-submit").click();
  await byTestId("who").filter({ hasText: "admin" }).waitFor(WAIT);
  await byTestId("row").first().waitFor(WAIT);

  step("the live panel connects");
  await page.locator('[data-testid="live-status"][data-state="connected"]').waitFor(WAIT);

  step("paging: 10 a page, next and first");
  assert.equal(await byTestId("row").count(), 10);
  await byTestId("next-page").click();
  await byTestId("page-info").filter({ hasText: "Page 2" }).waitFor(WAIT);
  await byTestId("first-page").click();
  await byTestId("page-info").filter({ hasText: "Page 1" }).waitFor(WAIT);

  step("an invalid email is refused next to the field (422)");
  await byTestId("create-name").fill("Ada Lovelace");
  await byTestId("create-email").fill("not-an-email");
  await byTestId("create-submit").click();
  const emailError = byTestId("create-error-email");
  await emailError.waitFor({ state: "visible", ...WAIT });
  assert.match(await emailError.textContent(), /not a valid email/);
  await page.screenshot({ path: sibling("422"), fullPage: true });

  step("create a customer");
  const email = `ada.${Date.now()}@example.com`;
  await byTestId("create-email").fill(email);
  await byTestId("create-submit").click();
  const created = page.locator('[data-testid="row"]', { hasText: email });
  await created.waitFor(WAIT);
  assert.equal(await emailError.isVisible(), false, "the field error is cleared");
  const id = await created.getAttribute("data-id");
  step(`created ${id}; waiting for its event in the live panel`);
  const createdEvent = liveEvent("c", id, 1);
  await createdEvent.waitFor(WAIT);
  assert.match(await createdEvent.locator('[data-field="email"]').textContent(), new RegExp(email.replace(/\./g, "\\.")));

  step("edit it with If-Match");
  await row(id).locator('[data-testid="edit"]').click();
  await byTestId("edit-form").waitFor({ state: "visible", ...WAIT });
  assert.equal(await byTestId("edit-version").textContent(), "1");
  await byTestId("edit-name").fill("Ada King");
  await byTestId("edit-save").click();
  await row(id).locator('[data-col="name"]', { hasText: "Ada King" }).waitFor(WAIT);
  const updatedEvent = liveEvent("u", id, 2);
  await updatedEvent.waitFor(WAIT);
  assert.equal(await updatedEvent.locator('[data-field="name"]').textContent(), "Ada Lovelace → Ada King");

  step("a concurrent edit is a clear conflict (412)");
  await row(id).locator('[data-testid="edit"]').click();
  await byTestId("edit-version").filter({ hasText: "2" }).waitFor(WAIT);
  // Someone else changes the customer after the form was opened.
  const status = await page.evaluate(async ({ id }) => {
    const response = await fetch(`/api/v1/customers/${id}`, {
      method: "PATCH",
      headers: {
        Authorization: `Bearer ${sessionStorage.getItem("token")}`,
        "Content-Type": "application/json",
        "If-Match": '"2"',
      },
      body: JSON.stringify({ phone: "+44 20 7946 0000" }),
    });
    return response.status;
  }, { id });
  assert.equal(status, 200);
  await byTestId("edit-name").fill("Ada Byron");
  await byTestId("edit-save").click();
  const conflict = byTestId("edit-conflict");
  await conflict.waitFor({ state: "visible", ...WAIT });
  assert.match(await conflict.textContent(), /changed by someone else/);
  assert.match(await conflict.textContent(), /412|If-Match/);
  await liveEvent("u", id, 3).waitFor(WAIT);
  await page.screenshot({ path: sibling("conflict"), fullPage: true });
  step("load the current version and save again");
  await byTestId("edit-reload").click();
  await byTestId("edit-version").filter({ hasText: "3" }).waitFor(WAIT);
  assert.equal(await byTestId("edit-phone").inputValue(), "+44 20 7946 0000");
  await byTestId("edit-name").fill("Ada Byron");
  await byTestId("edit-save").click();
  await row(id).locator('[data-col="name"]', { hasText: "Ada Byron" }).waitFor(WAIT);
  await liveEvent("u", id, 4).waitFor(WAIT);

  step("delete it");
  page.once("dialog", (dialog) => dialog.accept());
  await row(id).locator('[data-testid="delete"]').click();
  await row(id).waitFor({ state: "detached", ...WAIT });
  const deletedEvent = liveEvent("d", id, 5);
  await deletedEvent.waitFor(WAIT);
  assert.equal(await deletedEvent.locator('[data-field="name"]').textContent(), "Ada Byron");

  step("snapshot every customer: the bar fills and each row's r event shows live");
  await byTestId("snapshot-start").click();
  await page.locator('[data-testid="snapshot-state"]', { hasText: "done" }).waitFor(WAIT);
  const bar = byTestId("snapshot-progress");
  assert.equal(await bar.evaluate((p) => p.value), await bar.evaluate((p) => p.max));
  const firstRow = await page.locator('[data-testid="row"]').first().getAttribute("data-id");
  await page.locator(`[data-testid="live-event"][data-op="r"][data-key="${firstRow}"]`).first().waitFor(WAIT);

  step("the consumers tab shows each group's lag and each dead-letter topic");
  await byTestId("tab-consumers").click();
  const replicatorRow = page.locator('[data-testid^="consumer-replicator-"]').first();
  await replicatorRow.waitFor(WAIT);
  assert.match(await replicatorRow.textContent(), /replicator.*customers/);
  await page.locator('[data-testid^="dlq-"]').first().waitFor(WAIT);
  await page.screenshot({ path: sibling("consumers"), fullPage: true });

  assert.deepEqual(pageErrors, [], "no script errors on the page");
  await page.screenshot({ path: screenshot, fullPage: true });
  step(`screenshot: ${screenshot}`);
} catch (error) {
  failed = true;
  console.error(`[console.spec] FAILED: ${error.stack || error}`);
  if (pageErrors.length) console.error(`[console.spec] page errors: ${pageErrors.join("\n")}`);
  const failure = sibling("failure");
  await page.screenshot({ path: failure, fullPage: true }).catch(() => {});
  console.error(`[console.spec] screenshot of the failure: ${failure}`);
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);
