import { randomBytes } from "node:crypto";
import { connect, Socket } from "node:net";

/** A WebSocket client over a raw TCP connection (Node 20 has none built in): text frames up to 125 bytes. */
export interface TestWebSocket {
  /** Sends a text frame and resolves with the next text frame received. */
  echo(text: string): Promise<string>;
  /** Resolves when the server closed the connection (a close frame, or the TCP connection), with the seconds since `open`. */
  readonly closed: Promise<number>;
  close(): void;
}

/** Opens a WebSocket to `url` (ws://host:port/path); rejects unless the answer is 101. */
export function openWebSocket(url: string): Promise<TestWebSocket> {
  const { hostname, port, pathname } = new URL(url);
  const opened = Date.now();
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const waiting: ((text: string) => void)[] = [];
    let onClosed: (seconds: number) => void = () => undefined;
    const closed = new Promise<number>((done) => (onClosed = done));
    const ended = () => onClosed((Date.now() - opened) / 1000);
    socket.on("close", ended);
    socket.on("error", (error) => (upgraded ? ended() : reject(error)));
    socket.on("connect", () => {
      const key = randomBytes(16).toString("base64");
      socket.write(
        `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 4);
        if (!/^HTTP\/1\.1 101 /.test(head)) {
          socket.destroy();
          reject(new Error(`no WebSocket upgrade: ${head.split("\r\n")[0]}`));
          return;
        }
        upgraded = true;
        resolve({
          echo: (text) =>
            new Promise((answer) => {
              waiting.push(answer);
              const payload = Buffer.from(text);
              const mask = randomBytes(4);
              socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((byte, i) => byte ^ mask[i % 4]!)]));
            }),
          closed,
          close: () => socket.destroy(),
        });
      }
      while (buffer.length >= 2) {
        const opcode = buffer[0]! & 0x0f;
        const length = buffer[1]! & 0x7f;
        if (buffer.length < 2 + length) break;
        const payload = buffer.subarray(2, 2 + length).toString();
        buffer = buffer.subarray(2 + length);
        if (opcode === 0x8) {
          socket.end();
          ended();
        } else waiting.shift()?.(payload);
      }
    });
  });
}
