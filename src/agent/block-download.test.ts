import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpsServer, globalAgent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createHttpServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createTcpServer } from "node:net";
import type { AddressInfo, Server, Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BlockPool, getInBlocks, parseHead, writeBlocks } from "./block-download.js";
import type { Block } from "./block-download.js";

const BLOCK = 96 * 1024;
const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

function track(server: Server): void {
  servers.push(server);
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

async function httpServer(handler: Handler): Promise<URL> {
  const server = createHttpServer(handler);
  track(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/blob?sig=abc`);
}

/** A server that answers every connection with `answer` (raw bytes), to send what HTTP servers will not. */
async function rawServer(answer: (socket: Socket) => void): Promise<URL> {
  const server = createTcpServer((socket) => socket.once("data", () => answer(socket)));
  track(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
}

/** Writes `body` in pieces of odd sizes, waiting for the socket when it is full. */
async function sendInPieces(response: ServerResponse, body: Buffer): Promise<void> {
  response.writeHead(200, { "content-length": String(body.length), "content-type": "application/zip" });
  for (let at = 0, size = 1; at < body.length; at += size, size = ((size * 7 + 13) % 70_000) + 1) {
    if (!response.write(body.subarray(at, at + size))) await new Promise((r) => response.once("drain", r));
  }
  response.end();
}

async function readAll(blocks: AsyncIterable<Block>, delayMs = 0): Promise<{ bytes: Buffer; count: number }> {
  const pieces: Buffer[] = [];
  let count = 0;
  for await (const block of blocks) {
    pieces.push(Buffer.from(block.bytes));
    count += 1;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    block.release();
  }
  return { bytes: Buffer.concat(pieces), count };
}

const sha = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** Ten blocks of twenty, then nothing, read by a reader that first pauses longer than the idle time. */
async function expectSilenceNoticedAfterPause(url: URL): Promise<void> {
  const response = await getInBlocks(url, {}, { pool: new BlockPool(BLOCK), idleMs: 150 });
  const blocks = response.body[Symbol.asyncIterator]();
  const first = await blocks.next();
  await new Promise((resolve) => setTimeout(resolve, 400));
  first.value?.release();
  let received = first.value?.bytes.length ?? 0;
  const rest = (async () => {
    for (let next = await blocks.next(); !next.done; next = await blocks.next()) {
      received += next.value.bytes.length;
      next.value.release();
    }
  })();
  await expect(rest).rejects.toThrow("sent nothing for 0.15 s: the download was given up.");
  expect(received).toBe(10 * BLOCK);
}

describe("getInBlocks over plain HTTP", () => {
  it("reads a body larger than many blocks, whole and in order, with the request's headers", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 12_345);
    let seen: { version: string; range: string | undefined; url: string | undefined } | undefined;
    const url = await httpServer((request, response) => {
      seen = { version: request.httpVersion, range: request.headers.range, url: request.url };
      void sendInPieces(response, body);
    });
    const pool = new BlockPool(BLOCK);
    const response = await getInBlocks(url, { range: "bytes=0-" }, { pool });
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toBe("application/zip");
    const { bytes, count } = await readAll(response.body);
    expect(sha(bytes)).toBe(sha(body));
    // Every block but the last is full: writes of whole blocks, not of the socket's reads.
    expect(count).toBe(Math.ceil(body.length / BLOCK));
    expect(seen).toEqual({ version: "1.0", range: "bytes=0-", url: "/blob?sig=abc" });
    // Released blocks are reused: a few buffers serve the whole body.
    expect(pool.made).toBeLessThanOrEqual(3);
  });

  it("stops reading while the reader is behind, and keeps no more than a few blocks", async () => {
    const body = randomBytes(40 * BLOCK);
    const url = await httpServer((_request, response) => void sendInPieces(response, body));
    const pool = new BlockPool(BLOCK);
    const response = await getInBlocks(url, {}, { pool });
    // A slow reader that still holds every block it was given until the next arrives.
    const { bytes } = await readAll(response.body, 5);
    expect(sha(bytes)).toBe(sha(body));
    // Four waiting for the reader, the one being filled, the reader's, and one read past a full queue.
    expect(pool.made).toBeLessThanOrEqual(7);
  });

  it("gives the status and body of a refusal", async () => {
    const url = await httpServer((_request, response) => {
      response.writeHead(403, { "content-type": "text/plain" });
      response.end("This URL has expired.");
    });
    const response = await getInBlocks(url, {}, { pool: new BlockPool(BLOCK) });
    expect(response.status).toBe(403);
    expect((await readAll(response.body)).bytes.toString()).toBe("This URL has expired.");
  });

  it("reads an empty body and a body that ends with the connection", async () => {
    const empty = await rawServer((socket) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    const answer = await getInBlocks(empty, {}, { pool: new BlockPool(BLOCK) });
    expect((await readAll(answer.body)).count).toBe(0);
    const body = randomBytes(2 * BLOCK + 7);
    const untilClose = await rawServer((socket) => {
      socket.write("HTTP/1.0 200 OK\r\nX-Note:  spaced  \r\n\r\n");
      socket.end(body);
    });
    const response = await getInBlocks(untilClose, {}, { pool: new BlockPool(BLOCK) });
    expect(response.headers["x-note"]).toBe("spaced");
    expect(sha((await readAll(response.body)).bytes)).toBe(sha(body));
  });

  it("fails clearly when the body breaks off, overruns, or the answer is not HTTP", async () => {
    const short = await rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n");
      socket.end(randomBytes(200_000));
    });
    const response = await getInBlocks(short, {}, { pool: new BlockPool(BLOCK) });
    await expect(readAll(response.body)).rejects.toThrow(
      "the download broke off after 200000 of 500000 bytes.",
    );

    const long = await rawServer((socket) =>
      socket.end("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef"),
    );
    const overrun = await getInBlocks(long, {}, { pool: new BlockPool(BLOCK) });
    await expect(readAll(overrun.body)).rejects.toThrow("sent more bytes than its Content-Length (3).");

    const garbage = await rawServer((socket) => socket.end("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
    await expect(getInBlocks(garbage, {})).rejects.toThrow(
      "gave an answer that is not HTTP: its status line is 'SSH-2.0-OpenSSH_9.2'.",
    );
    const chunked = await rawServer((socket) =>
      socket.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
    );
    await expect(getInBlocks(chunked, {})).rejects.toThrow(
      "answered an HTTP/1.0 request with Transfer-Encoding 'chunked'.",
    );
    const silent = await rawServer((socket) => socket.end());
    await expect(getInBlocks(silent, {})).rejects.toThrow("closed the connection without an answer.");
  });

  it("counts the server's silence from when the reader caught up, not from its own pause", async () => {
    const url = await rawServer((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${20 * BLOCK}\r\n\r\n`);
      socket.write(randomBytes(10 * BLOCK));
    });
    await expectSilenceNoticedAfterPause(url);
  });

  it("gives up on a server that stops sending, instead of waiting for ever", async () => {
    const stalled = await rawServer((socket) =>
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"),
    );
    const response = await getInBlocks(stalled, {}, { pool: new BlockPool(BLOCK), idleMs: 150 });
    await expect(readAll(response.body)).rejects.toThrow(
      "sent nothing for 0.15 s: the download was given up.",
    );
  });

  it.each([
    ["after its first block", true],
    ["before its first block", false],
  ])("closes the connection when the reader leaves %s", async (_when, readOne) => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const url = await httpServer((request, response) => {
      request.socket.once("close", closed);
      void sendInPieces(response, randomBytes(50 * BLOCK)).catch(() => undefined);
    });
    const response = await getInBlocks(url, {}, { pool: new BlockPool(BLOCK) });
    const blocks = response.body[Symbol.asyncIterator]();
    if (readOne) (await blocks.next()).value?.release();
    await blocks.return?.();
    await connectionClosed;
  });

  it("refuses other schemes", async () => {
    await expect(getInBlocks(new URL("ftp://127.0.0.1/x"), {})).rejects.toThrow(
      "cannot download from 'ftp:' URLs (http: or https: only).",
    );
  });
});

describe("writeBlocks", () => {
  function countedBlocks(data: Buffer, size: number) {
    const state = { lent: 0, released: 0 };
    async function* blocks(): AsyncGenerator<Block> {
      for (let at = 0; at < data.length; at += size) {
        state.lent += 1;
        yield { bytes: data.subarray(at, at + size), release: () => void (state.released += 1) };
      }
    }
    return { blocks: blocks(), state };
  }

  it("writes every block to a program's input, in order, and returns each once written", async () => {
    const data = randomBytes(3 * BLOCK + 11);
    const child = spawn("sha256sum", [], { stdio: ["pipe", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const { blocks, state } = countedBlocks(data, BLOCK);
    expect(await writeBlocks(blocks, child.stdin)).toBe(data.length);
    await new Promise((resolve) => child.once("close", resolve));
    expect(output.split(" ")[0]).toBe(sha(data));
    expect(state).toEqual({ lent: 4, released: 4 });
  });

  it("fails, without crashing, when the program stops reading early", async () => {
    const child = spawn("head", ["-c", "10"], { stdio: ["pipe", "ignore", "inherit"] });
    const { blocks, state } = countedBlocks(randomBytes(200 * BLOCK), BLOCK);
    await expect(writeBlocks(blocks, child.stdin)).rejects.toThrow(/EPIPE|closed/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(state.released).toBe(state.lent);
    expect(state.lent).toBeLessThan(200);
  });
});

describe("parseHead", () => {
  it("reads the status and headers, names in lower case", () => {
    expect(
      parseHead("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 10"),
    ).toEqual({
      status: 206,
      headers: { "content-range": "bytes 0-9/100", "content-length": "10" },
    });
    expect(parseHead("HTTP/1.0 200")).toEqual({ status: 200, headers: {} });
  });

  it("says what is wrong with an answer that is not HTTP/1", () => {
    expect(parseHead("HTTP/2 200")).toBe("its status line is 'HTTP/2 200'.");
    expect(parseHead("HTTP/1.1 200 OK\r\nno colon here")).toBe("a header line is 'no colon here'.");
    expect(parseHead("HTTP/1.1 200 OK\r\nContent-Length: -5")).toBe("its Content-Length is '-5'.");
  });
});

describe("getInBlocks over HTTPS", () => {
  // Made with openssl; without it (not on every machine) these tests are skipped, as .ci/run installs it.
  let key = "";
  let cert = "";
  const savedCa = globalAgent.options.ca;
  beforeAll(() => {
    // A self-signed certificate for 127.0.0.1, trusted by this process's https agent only.
    const folder = mkdtempSync(join(tmpdir(), "conveyor-tls-"));
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(folder, "key.pem"),
        "-out",
        join(folder, "cert.pem"),
      ],
      { encoding: "utf8" },
    );
    if (made.error) return; // no openssl
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    key = readFileSync(join(folder, "key.pem"), "utf8");
    cert = readFileSync(join(folder, "cert.pem"), "utf8");
    rmSync(folder, { recursive: true });
    globalAgent.options.ca = cert;
  });
  afterAll(() => {
    globalAgent.options.ca = savedCa;
  });

  async function httpsServer(handler: Handler, context: { skip(): void }): Promise<URL> {
    if (key === "") context.skip();
    const server = createHttpsServer({ key, cert }, handler);
    track(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new URL(`https://127.0.0.1:${(server.address() as AddressInfo).port}/blob`);
  }

  it("reads a body into full blocks, waiting while the reader is behind", async (context) => {
    const body = randomBytes(30 * BLOCK + 5);
    const url = await httpsServer((_request, response) => void sendInPieces(response, body), context);
    const pool = new BlockPool(BLOCK);
    const response = await getInBlocks(url, {}, { pool });
    expect(response.status).toBe(200);
    const { bytes, count } = await readAll(response.body, 5);
    expect(sha(bytes)).toBe(sha(body));
    expect(count).toBe(31);
    expect(pool.made).toBeLessThanOrEqual(7);
  });

  it("counts the server's silence from when the reader caught up, not from its own pause", async (context) => {
    const url = await httpsServer((_request, response) => {
      response.writeHead(200, { "content-length": String(20 * BLOCK) });
      response.write(randomBytes(10 * BLOCK));
    }, context);
    await expectSilenceNoticedAfterPause(url);
  });

  it("fails clearly when the body breaks off", async (context) => {
    const url = await httpsServer((request, response) => {
      response.writeHead(200, { "content-length": "400000" });
      response.write(randomBytes(100_000), () => request.socket.destroy());
    }, context);
    const response = await getInBlocks(url, {}, { pool: new BlockPool(BLOCK) });
    await expect(readAll(response.body)).rejects.toThrow(/the download from 127\.0\.0\.1:\d+ broke off\./);
  });
});

describe("BlockPool", () => {
  it("refuses blocks too small for an answer's headers", () => {
    expect(() => new BlockPool(1024)).toThrow("blocks must be larger than 65536 bytes.");
  });
});
