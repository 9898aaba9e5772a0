// The phone's side of tests/deploy/test_push_repeat.py: one app start that receives one push.
// Reads the push (as FCM hands it to the app) on stdin, decides with the SDK's SeenPushes over
// the SQLite storage file given as the argument, prints the decision as JSON.
import { readFileSync } from "node:fs";
import { acceptPush, SeenPushes } from "../../clients/typescript/dist/pushes.js";
import { SqliteStorage } from "../../clients/typescript/dist/storage/sqlite.js";

const storage = new SqliteStorage(process.argv[2]);
await storage.open();
const push = await acceptPush(new SeenPushes(storage), JSON.parse(readFileSync(0, "utf8")));
await storage.close();
console.log(JSON.stringify({ show: push.show, pushId: push.pushId, title: push.title, tag: push.tag }));
