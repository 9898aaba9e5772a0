/**
 * A photo upload cut part-way (the app dies after some chunks) and resumed by a NEW client
 * instance on the same storage: it continues from the server's offset at the stored tus URL,
 * then the waiting `media.attach` goes.
 */
import { expect, test } from "vitest";
import { sha256Hex } from "../src/uploads.js";
import { phone, signedIn } from "./clients.js";
import { sharedServerUrl } from "./harness.js";
import { noisePng } from "./png.js";

const server = { url: sharedServerUrl() };

test("an upload cut mid-way resumes in a new client on the same storage, then the attach is pushed", async () => {
  const chunk = 64 * 1024;
  const first = await signedIn(server.url, "inspector-north", { uploadChunkSize: chunk });
  await first.client.sync();
  const [acceptance] = await first.client.query("acceptance", {});
  expect(acceptance).toBeDefined();
  const bytes = noisePng(400, 300); // ~360 KB: six chunks
  const photo = await first.client.uploadPhoto(bytes, { filetype: "image/png", attach: { recordType: "acceptance", recordId: String(acceptance!.id) } });
  expect(photo.sha256).toBe(sha256Hex(bytes));
  let chunks = 0;
  first.client.uploadChunkHook = () => ++chunks >= 2; // the app dies after two chunks
  const cut = await first.client.sync();
  expect(cut.uploaded).toEqual([]);
  expect(cut.pushed).toBe(0); // the attach waits for its photo
  const [kept] = await first.client.uploads();
  expect(kept).toMatchObject({ state: "pending", sha256: photo.sha256 });
  expect(kept!.url).toMatch(/\/media\/uploads\//);
  const head = await fetch(kept!.url!, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0", Authorization: `Bearer ${await tokenOf(first)}` } });
  const serverOffset = Number(head.headers.get("Upload-Offset"));
  expect(serverOffset).toBe(2 * chunk);
  await first.client.close();

  const second = phone(server.url, { file: first.file, uploadChunkSize: chunk });
  const offsets: number[] = [];
  second.client.uploadChunkHook = (_sha, offset) => {
    offsets.push(offset);
    return false;
  };
  const resumed = await second.client.sync();
  expect(resumed.uploaded).toEqual([photo.sha256]);
  expect(offsets[0]).toBe(serverOffset + chunk); // continued where the server was, not from 0
  expect(offsets.at(-1)).toBe(bytes.byteLength);
  expect((await second.client.uploads())[0]).toMatchObject({ state: "done", url: kept!.url });
  expect(resumed.results.map((r) => [r.name, r.status])).toEqual([["media.attach", "applied"]]);
  const meta = await fetch(`${server.url}/media/photos/${photo.sha256}`, { headers: { Authorization: `Bearer ${await tokenOf(second)}` } });
  expect(meta.status).toBe(200);
  expect(JSON.stringify(await meta.json())).toContain(photo.sha256);
  await second.client.close();
});

async function tokenOf(p: { storage: { getMeta(k: string): Promise<unknown> } }): Promise<string> {
  return ((await p.storage.getMeta("session")) as { accessToken: string }).accessToken;
}
