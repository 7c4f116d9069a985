import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseRunnerFlags, runRunner } from "./runner.js";
import type { RunnerFlags } from "./runner.js";

const parse = (flags: RunnerFlags, env: Record<string, string> = {}) =>
  parseRunnerFlags(flags, env, "/home/ci", "build-host");
const errorsOf = (flags: RunnerFlags): string[] => {
  const parsed = parse(flags);
  return parsed.ok ? [] : parsed.errors;
};

describe("conveyor runner flags", () => {
  it("takes a server, a token, labels, capacity, name and folder, with defaults", () => {
    expect(
      parse({ server: "http://10.0.0.5:8080/", token: "cvg_x", labels: "gpu, large", capacity: "4" }),
    ).toEqual({
      ok: true,
      value: {
        serverUrl: "http://10.0.0.5:8080",
        registrationToken: "cvg_x",
        labels: ["gpu", "large"],
        capacity: 4,
        name: "build-host",
        dataDir: "/home/ci/.local/share/conveyor/runners/build-host",
      },
    });
    const fromEnv = parse(
      { server: "https://ci.example/conveyor", name: "gpu box" },
      { CONVEYOR_RUNNER_TOKEN: "cvg_env", XDG_DATA_HOME: "/data" },
    );
    expect(fromEnv.ok && fromEnv.value).toMatchObject({
      serverUrl: "https://ci.example/conveyor",
      registrationToken: "cvg_env",
      capacity: 1,
      dataDir: "/data/conveyor/runners/gpu_box",
    });
  });

  it("names each bad flag and says what to give instead", () => {
    expect(errorsOf({})).toEqual([
      "--server is needed: give the address of the Conveyor server, like --server http://10.0.0.5:8080.",
    ]);
    expect(errorsOf({ server: "ci.example:8080" })).toEqual([
      "--server: 'ci.example:8080' is not an http:// or https:// address: like --server http://10.0.0.5:8080.",
    ]);
    expect(errorsOf({ server: "not a url" })[0]).toBe(
      "--server: 'not a url' is not a URL: give the server's address with its scheme, like --server http://10.0.0.5:8080.",
    );
    expect(errorsOf({ server: "http://me:secret@ci.example" })[0]).toContain(
      "leave credentials out of the address",
    );
    expect(errorsOf({ server: "http://ci.example", capacity: "0" })).toEqual([
      "--capacity: '0' is not a number of jobs: give a whole number from 1 to 256.",
    ]);
    expect(errorsOf({ server: "http://ci.example", capacity: "two" })[0]).toContain(
      "'two' is not a number of jobs",
    );
    expect(errorsOf({ server: "http://ci.example", labels: "gpu,big box" })).toEqual([
      "--labels: 'big box' is not a label: use letters, digits, '.', '_' and '-' (at most 64), separated by commas, like --labels gpu,large.",
    ]);
    expect(errorsOf({ server: "http://ci.example", name: " " })).toEqual([
      "--name: give the runner a name of 1 to 100 characters.",
    ]);
  });
});

describe("conveyor runner against a server that refuses it", () => {
  const servers: Server[] = [];
  const dirs: string[] = [];

  afterEach(async () => {
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function serve(status: number, contentType: string, body: string): Promise<string> {
    const server = createServer((request, response) => {
      request.resume();
      response.writeHead(status, { "content-type": contentType }).end(body);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async function run(serverUrl: string, token: string): Promise<{ code: number; output: string }> {
    const dataDir = await mkdtemp(join(tmpdir(), "conveyor-runner-cli-"));
    dirs.push(dataDir);
    let output = "";
    const code = await runRunner(
      { serverUrl, registrationToken: token, labels: [], capacity: 1, name: "cli-test", dataDir },
      {
        stderr: { write: (text: string) => (output += text) },
        signals: { on: () => process, off: () => process },
      },
    );
    return { code, output };
  }

  it("exits 1 saying the token was refused, without printing it", async () => {
    const url = await serve(
      401,
      "application/json",
      JSON.stringify({ error: "the registration token is not valid." }),
    );
    const { code, output } = await run(url, "cvg_wrong_token");
    expect(code).toBe(1);
    expect(output).toBe(
      `conveyor runner: ${url} refused to register this runner: the registration token is not valid. Ask the server's administrator for a new registration token.\n`,
    );
    expect(output).not.toContain("cvg_wrong_token");
  });

  it("exits 1 when the address answers, but not as a Conveyor server", async () => {
    const url = await serve(200, "text/html", "<html>a web page</html>");
    const { code, output } = await run(url, "cvg_token");
    expect(code).toBe(1);
    expect(output).toContain("did not answer with JSON: is the --server address a Conveyor server?");
  });
});
