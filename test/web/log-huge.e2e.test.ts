/**
 * A log taller than the browser can lay out, in headless Chromium against a real server and runner:
 * a finished job printed 3,000,000 lines, 60 million px of 20 px rows where Chromium caps an
 * element's height near 33.5 million (Firefox near 17.8). The log page scales its scrolling: the
 * first line shows at the top, #L2500000 opens on its line (asked for while the log still loads),
 * the End key reaches the last line at the bottom, search finds and shows lines anywhere in it, the
 * wheel still moves the log pixel for pixel, and the DOM holds only a few dozen rows throughout.
 */
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, eventually, git, gitRepositoryWith, pushUrl, startInProcess } from "../server/helpers.js";
import type { InProcessServer } from "../server/helpers.js";
import { WEB_ROOT, ensureDashboardBuilt, launchBrowser, screenshot, signIn } from "./browser.js";

const PASSWORD = "admin password";
const LINES = 3_000_000;
const ROW_HEIGHT = 20;
/** Chromium's limit on an element's height, in px. */
const CHROMIUM_MAX_HEIGHT = 33_554_428;

const WORKFLOW = `on: push
jobs:
  noisy:
    runs-on: ubuntu-latest
    steps:
      - run: |
          seq -f "line %.0f: ..." 1 ${LINES}
`;

let started: InProcessServer | undefined;
let browser: Browser;
let page: Page;
let jobId = 0;

interface RowBox {
  readonly line: number;
  readonly text: string;
  readonly top: number;
  readonly bottom: number;
}

/** The log rows on screen, top to bottom, with their place relative to the log view's inside. */
async function rowsOnScreen(view: Locator): Promise<{ rows: RowBox[]; inDom: number; height: number }> {
  return view.evaluate((element) => {
    const frame = element.getBoundingClientRect();
    const inside = frame.top + element.clientTop;
    const rows = [...element.querySelectorAll(".log-line")]
      .map((row) => {
        const box = row.getBoundingClientRect();
        return {
          line: Number(row.getAttribute("data-line")),
          text: row.querySelector(".log-text")?.textContent ?? "",
          top: box.top - inside,
          bottom: box.bottom - inside,
        };
      })
      .filter((row) => row.bottom > 0 && row.top < element.clientHeight)
      .sort((a, b) => a.top - b.top);
    return { rows, inDom: element.querySelectorAll(".log-row").length, height: element.clientHeight };
  });
}

beforeAll(async () => {
  await ensureDashboardBuilt();
  started = await startInProcess({
    prefix: "conveyor-web-huge-log-",
    webRoot: WEB_ROOT,
    adminPassword: PASSWORD,
    capacity: 1,
  });
  const { admin } = started;
  await api(admin, "/repos", { body: { name: "app" } });
  const project = gitRepositoryWith({ ".github/workflows/noisy.yml": WORKFLOW });
  const pushed = await git(project, ["push", pushUrl(admin, "admin", admin.token, "admin/app"), "main"]);
  expect(pushed.status, pushed.stderr).toBe(0);
  // The browser starts while the job prints (storing 3,000,000 lines takes most of this test's time).
  const browserStarted = (async () => {
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn(page, admin.url, "admin", PASSWORD);
  })();
  const [run] = await eventually(
    async () =>
      (await api<{ runs: { id: number; status: string; conclusion: string | null }[] }>(admin, "/runs")).body
        .runs,
    (runs) => runs[0]?.status === "completed",
    90_000,
  );
  expect(run?.conclusion).toBe("success");
  const detail = await api<{ jobs: { id: number }[] }>(admin, `/runs/${run?.id}`);
  jobId = detail.body.jobs[0]?.id ?? 0;
  // Opened once its log is archived, as most logs people open are. (A log read while the archiving
  // drops its rows from the database ends early: the reader stops at the first page it finds empty.)
  await started.server.context.coordinator.idle();
  expect(await started.server.store.jobs.archiveLog(jobId)).toBe(true);
  await browserStarted;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await started?.stop();
});

describe("a 3,000,000-line log", () => {
  it("shows its first line at the top, opens #L2500000, reaches its last line, and searches", async () => {
    const { server } = started as InProcessServer;
    await page.goto(`${server.url}/jobs/${jobId}`);
    const view = page.getByTestId("log-view");
    await page.locator('[data-testid="log-view"][data-ready="true"] .log-line').first().waitFor();

    // The first screen, while the rest still loads: the log's first line at the very top.
    const first = await rowsOnScreen(view);
    expect(first.rows[0]?.line).toBe(1);
    expect(first.rows[0]?.top).toBe(0);
    expect(first.rows.map((row) => row.text)).toContain("line 1: ...");
    await screenshot(page, "job-log-huge-top");

    // A link to a line that has not arrived yet: the page goes there once it has, and stays there
    // while the rest of the log comes in.
    await page.evaluate('location.hash = "L2500000"');
    await expect
      .poll(
        async () => Number((await page.getByTestId("line-count").textContent())?.replace(/\D/g, "") ?? 0),
        { timeout: 120_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(LINES);
    // The scroll range is capped where every browser can lay it out.
    const scrollHeight = await view.evaluate((element) => element.scrollHeight);
    expect(scrollHeight).toBeLessThanOrEqual(10_000_000);
    expect(LINES * ROW_HEIGHT).toBeGreaterThan(CHROMIUM_MAX_HEIGHT);

    // Line numbers count every line of the log, "line n" only the job's output: the offset between them.
    await expect.poll(() => page.locator(".log-line.selected").getAttribute("data-line")).toBe("2500000");
    const linked = await rowsOnScreen(view);
    const selected = linked.rows.find((row) => row.line === 2_500_000);
    expect(selected, JSON.stringify(linked.rows.slice(0, 3))).toBeDefined();
    const printed = Number(/^line (\d+):/.exec(selected?.text ?? "")?.[1]);
    const before = 2_500_000 - printed; // lines of the log before "line 1"
    expect(before, JSON.stringify(selected)).toBeGreaterThanOrEqual(0);
    expect(before).toBeLessThan(10);
    // Centred in the view, as a link to a line is.
    expect(Math.abs((selected?.top ?? 0) + ROW_HEIGHT / 2 - linked.height / 2)).toBeLessThanOrEqual(
      ROW_HEIGHT,
    );
    expect(linked.inDom).toBeLessThan(100);
    await screenshot(page, "job-log-huge-line");

    // The End key: the last line, at the bottom.
    await view.focus();
    await page.keyboard.press("End");
    await view.getByText(`line ${LINES}: ...`, { exact: true }).waitFor();
    await expect
      .poll(async () => {
        const { rows, height } = await rowsOnScreen(view);
        const last = rows[rows.length - 1];
        return { text: last?.text, bottom: Math.abs((last?.bottom ?? 0) - height) < 1 };
      })
      .toEqual({ text: `line ${LINES}: ...`, bottom: true });
    const end = await rowsOnScreen(view);
    expect(end.rows[end.rows.length - 1]?.line).toBe(LINES + before);
    expect(end.inDom).toBeLessThan(100);
    await screenshot(page, "job-log-huge-end");

    // Search: next and previous scroll to the matches, on screen.
    const search = page.getByRole("searchbox", { name: "Search the log" });
    await search.fill("line 1500000: ");
    await search.press("Enter");
    await expect.poll(() => page.getByTestId("match-count").textContent(), { timeout: 20_000 }).toBe("1/1");
    await expect.poll(() => page.locator(".current-match .log-text").textContent()).toBe("line 1500000: ...");
    const found = (await rowsOnScreen(view)).rows.find((row) => row.text === "line 1500000: ...");
    expect(found, "the match is on screen").toBeDefined();
    await search.fill("line 1000: ");
    await page.getByRole("button", { name: "Previous match" }).click();
    await expect.poll(() => page.locator(".current-match .log-text").textContent()).toBe("line 1000: ...");
    await search.fill("");
    await view.focus();

    // Home: back to the first line; the wheel then moves the log by its own pixels, not scaled.
    await page.keyboard.press("Home");
    await expect.poll(async () => (await rowsOnScreen(view)).rows[0]?.line).toBe(1);
    const topOf = async (line: number) =>
      (await rowsOnScreen(view)).rows.find((row) => row.line === line)?.top;
    const twentieth = (await topOf(20)) ?? 0;
    const box = await view.boundingBox();
    await page.mouse.move((box?.x ?? 0) + 300, (box?.y ?? 0) + 200);
    await page.mouse.wheel(0, ROW_HEIGHT * 10);
    await expect.poll(() => topOf(20)).toBe(twentieth - ROW_HEIGHT * 10);
    expect((await rowsOnScreen(view)).inDom).toBeLessThan(100);
  }, 150_000);
});
