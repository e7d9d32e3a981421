import { request } from "node:http";

/** A server-sent event stream being read: each event's data with the seconds since `open` it arrived at. */
export interface TestEventStream {
  readonly events: readonly { readonly data: string; readonly at: number }[];
  /** Resolves once `count` events in all have arrived (rejects when the stream ends first). */
  received(count: number): Promise<void>;
  /** Resolves when the server ended the stream, with the seconds since `open`. */
  readonly ended: Promise<number>;
  close(): void;
}

/** Opens an event stream (`Accept: text/event-stream`); rejects unless the answer is 200 text/event-stream. */
export function openEventStream(url: string): Promise<TestEventStream> {
  const opened = Date.now();
  const seconds = () => (Date.now() - opened) / 1000;
  return new Promise((resolve, reject) => {
    const events: { data: string; at: number }[] = [];
    const waiting: { count: number; done: () => void; fail: (error: Error) => void }[] = [];
    let finished = false;
    let onEnded: (at: number) => void = () => undefined;
    const ended = new Promise<number>((done) => (onEnded = done));
    const finish = () => {
      if (finished) return;
      finished = true;
      onEnded(seconds());
      for (const wait of waiting.splice(0)) wait.fail(new Error(`the stream ended after ${events.length} events`));
    };
    const req = request(url, { headers: { accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers["content-type"]).startsWith("text/event-stream")) {
        res.resume();
        reject(new Error(`not an event stream: ${res.statusCode} ${res.headers["content-type"]}`));
        return;
      }
      let pending = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf("\n\n")) >= 0) {
          const data = pending
            .slice(0, end)
            .split("\n")
            .filter((line) => line.startsWith("data: "))
            .map((line) => line.slice(6))
            .join("\n");
          pending = pending.slice(end + 2);
          events.push({ data, at: seconds() });
        }
        for (const wait of waiting.filter((w) => events.length >= w.count)) {
          waiting.splice(waiting.indexOf(wait), 1);
          wait.done();
        }
      });
      res.on("end", finish);
      res.on("close", finish);
      resolve({
        events,
        received: (count) =>
          events.length >= count
            ? Promise.resolve()
            : finished
              ? Promise.reject(new Error(`the stream ended after ${events.length} events`))
              : new Promise((done, fail) => waiting.push({ count, done, fail })),
        ended,
        close: () => req.destroy(),
      });
    });
    req.on("error", (error) => (finished ? undefined : events.length ? finish() : reject(error)));
    req.end();
  });
}
