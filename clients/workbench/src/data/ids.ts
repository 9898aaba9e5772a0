// Ids the phone mints offline: 32 lower-case hex, time-ordered (like the server's new_id), and
// hybrid-logical-clock stamps for inspection answers ("<wall_ms>:<counter>:<node>").

export function newId(): string {
  const ms = Date.now().toString(16).padStart(12, "0").slice(-12);
  const rnd = new Uint8Array(10);
  crypto.getRandomValues(rnd);
  return ms + [...rnd].map((b) => b.toString(16).padStart(2, "0")).join("");
}

let last = { wall: 0, counter: 0 };

export function hlc(node: string): string {
  const wall = Date.now();
  if (wall > last.wall) last = { wall, counter: 0 };
  else last = { wall: last.wall, counter: last.counter + 1 };
  return `${last.wall}:${last.counter}:${node.replace(/:/g, "-").slice(0, 64)}`;
}
