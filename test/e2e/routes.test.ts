import { createTestStack, freePort, httpGet, httpStackConfig, TestStack, wipeEnvironments } from "./harness";
import { APP_IMAGE, prepareImages } from "./lifecycle";
import { openEventStream } from "../support/eventStream";
import { openWebSocket } from "../support/webSocket";

/**
 * Permacoop's routes on the local engine: one service at `/`, another under `/kit/` with its
 * prefix stripped; a WebSocket and a server-sent event stream through the edge and the switch
 * (unbuffered) that a rollout of the other service leaves alone, and that a rollout of their own
 * service closes once drained.
 */
const ENV = "e2eroutes";

describe("routes: a stripped prefix, WebSockets and event streams through edge and switch", () => {
  let test: TestStack;
  let port: number;
  const services = (web: string, kit: string) => [
    // Its own limits: a short read timeout, large uploads (kit keeps the defaults: its WebSocket
    // below stays quiet longer than 2 s).
    { name: "web", image: APP_IMAGE, build: { context: "app" }, port: 3000, readTimeoutSeconds: 2, clientMaxBodySize: "30m", env: { APP_VERSION: web } },
    {
      name: "kit",
      image: APP_IMAGE,
      build: { context: "app" },
      port: 3000,
      route: "/kit/",
      stripPrefix: true,
      env: { APP_VERSION: kit },
    },
  ];
  const up = async (web: string, kit: string) => {
    await test.stack.setConfig("permacoop:services", { value: JSON.stringify(services(web, kit)) });
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
  };

  beforeAll(async () => {
    prepareImages();
    wipeEnvironments(ENV);
    port = await freePort();
    test = await createTestStack(ENV, httpStackConfig({ kind: "local", httpPort: port }, services("w1", "k1")));
  });

  afterAll(async () => {
    await test?.dispose();
  });

  it("sends /kit/… to kit without its prefix, and / to web with the URI unchanged", async () => {
    expect((await test.stack.up({ color: "never" })).summary.result).toBe("succeeded");
    expect((await httpGet(`http://127.0.0.1:${port}/kit/uri/page?x=1`)).body).toBe("k1 /uri/page?x=1\n");
    expect((await httpGet(`http://127.0.0.1:${port}/uri/page?x=1`)).body).toBe("w1 /uri/page?x=1\n");
  });

  it("applies a route's own read timeout and body size, the others keeping the server's", async () => {
    expect((await httpGet(`http://127.0.0.1:${port}/slow?seconds=4`)).status).toBe(504);
    expect((await httpGet(`http://127.0.0.1:${port}/kit/slow?seconds=4`)).body).toBe("k1 slow 4\n");
    const body = Buffer.alloc(20 * 1024 * 1024, "x");
    const post = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`, { method: "POST", body })).status;
    expect(await post("/uri/upload")).toBe(200);
    expect(await post("/kit/uri/upload")).toBe(413);
  });

  it("streams server-sent events as they are sent (the edge does not buffer them)", async () => {
    // Small events: an edge that held them (compressing, or waiting for a buffer to fill) shows them late.
    const stream = await openEventStream(`http://127.0.0.1:${port}/kit/events?every=200`);
    await stream.received(3);
    stream.close();
    expect(stream.events.slice(0, 3).map((event) => event.data)).toEqual(["k1 1", "k1 2", "k1 3"]);
    expect(stream.events[2]!.at).toBeLessThan(3);
  });

  it("a WebSocket and an event stream survive a rollout of another service; their own service's rollout closes them once drained", async () => {
    const socket = await openWebSocket(`ws://127.0.0.1:${port}/kit/ws`);
    expect(await socket.echo("first")).toBe("k1 first");
    const stream = await openEventStream(`http://127.0.0.1:${port}/kit/events?every=500`);

    const otherStarted = Date.now();
    await up("w2", "k1");
    expect((await httpGet(`http://127.0.0.1:${port}/uri/`)).body).toBe("w2 /uri/\n");
    expect(await socket.echo("after web's rollout")).toBe("k1 after web's rollout");
    const eventsBefore = stream.events.length;
    await stream.received(eventsBefore + 2);
    const otherSeconds = (Date.now() - otherStarted) / 1000;

    const ownStarted = Date.now();
    await up("w2", "k2");
    expect((await httpGet(`http://127.0.0.1:${port}/kit/uri/`)).body).toBe("k2 /uri/\n");
    // Still served by k1 while it drains (the rollout returned once k2 served new requests)...
    expect(await socket.echo("while draining")).toBe("k1 while draining");
    // ...then closed by the drain deadline (30 s) at the latest, and a new one reaches k2.
    const closedAfter = await Promise.race([socket.closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 60_000).unref())]);
    expect(closedAfter).toBeGreaterThan(0);
    await stream.ended;
    // One stream from one version, no event lost or repeated: k1's events numbered 1, 2, 3, ...
    expect(stream.events.map((event) => event.data)).toEqual(stream.events.map((_, i) => `k1 ${i + 1}`));
    expect((Date.now() - ownStarted) / 1000).toBeLessThan(60);
    const again = await openWebSocket(`ws://127.0.0.1:${port}/kit/ws`);
    expect(await again.echo("again")).toBe("k2 again");
    again.close();
    // The other service's rollout did not wait for the socket (it was open for all of it).
    expect(otherSeconds).toBeLessThan(30);
  }, 180_000);
});
