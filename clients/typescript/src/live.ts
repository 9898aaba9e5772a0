/**
 * The live socket (`/ws`): `{"type":"pull"}` hints trigger a pull, every other event is handed to
 * the app (chat messages, read markers, typing). Reconnects with jittered exponential backoff;
 * each (re)connect triggers a pull, which catches up on whatever was missed while away. A close
 * for a bad token (4401) refreshes the token once before the next attempt.
 */
import type { LiveEvent, WebSocketLike } from "./types.js";

export interface LiveOptions {
  url: (token: string) => string;
  WebSocket: WebSocketLike;
  token: () => Promise<string>;
  refresh: () => Promise<void>;
  onPull: () => void;
  onEvent: (event: LiveEvent) => void;
  onState: (connected: boolean) => void;
  backoff: (attempt: number) => number;
}

export class LiveConnection {
  private socket: InstanceType<WebSocketLike> | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ping: ReturnType<typeof setInterval> | null = null;
  private running = false;
  private authFailures = 0;

  constructor(private readonly options: LiveOptions) {}

  get connected(): boolean {
    return this.socket !== null && this.socket.readyState === 1;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.ping !== null) clearInterval(this.ping);
    this.timer = null;
    this.ping = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "client stopped");
    this.options.onState(false);
  }

  /** Sends a client event (`typing`, `read`, `send`); false when not connected. */
  send(event: Record<string, unknown>): boolean {
    if (!this.connected) return false;
    this.socket!.send(JSON.stringify(event));
    return true;
  }

  private schedule(): void {
    if (!this.running || this.timer !== null) return;
    const delay = this.options.backoff(this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    let token: string;
    try {
      token = await this.options.token();
    } catch {
      // signed out, or no server: the sync loop reports it; try again later
      this.schedule();
      return;
    }
    let socket: InstanceType<WebSocketLike>;
    try {
      socket = new this.options.WebSocket(this.options.url(token));
    } catch {
      this.schedule();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onState(true);
      if (this.ping !== null) clearInterval(this.ping);
      this.ping = setInterval(() => this.send({ type: "ping" }), 25_000);
    };
    socket.onmessage = (ev) => {
      let event: LiveEvent;
      try {
        event = JSON.parse(typeof ev.data === "string" ? ev.data : String(ev.data)) as LiveEvent;
      } catch {
        return;
      }
      if (event.type === "ready") {
        this.authFailures = 0;
        this.options.onPull(); // catch up on what happened while disconnected
      } else if (event.type === "pull") this.options.onPull();
      else if (event.type !== "pong") this.options.onEvent(event);
    };
    socket.onerror = () => {
      // onclose follows
    };
    socket.onclose = (ev) => {
      if (this.socket === socket) this.socket = null;
      if (this.ping !== null) clearInterval(this.ping);
      this.ping = null;
      this.options.onState(false);
      if (!this.running) return;
      if (ev.code === 4401 && this.authFailures === 0) {
        this.authFailures += 1;
        void this.options.refresh().catch(() => undefined).finally(() => this.schedule());
        return;
      }
      this.schedule();
    };
  }
}
