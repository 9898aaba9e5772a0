// Entry: start the data layer from what the phone stored, render, register the service worker.
import { render } from "preact";
import "./styles.css";
import { App, prefetchScreens } from "./app";
import { boot, onSignedIn, syncNow } from "./data/sdk";

render(<App />, document.getElementById("root")!);
// Other screens load on first use; a signed-in phone not yet controlled by the service worker
// (its first start) loads them at once, in case the signal goes before the cache is filled.
void boot().then((signedIn) => {
  if (signedIn && !navigator.serviceWorker?.controller) prefetchScreens();
});
onSignedIn(prefetchScreens);

if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch((err) => console.warn("service worker not registered", err));
  });
  // A push the service worker let through (repeats are dropped there): pull what it announces.
  navigator.serviceWorker.addEventListener("message", (event: MessageEvent) => {
    if ((event.data as { type?: unknown } | null)?.type === "push") void syncNow();
  });
}
