// Entry: start the data layer from what the phone stored, render, register the service worker.
import { render } from "preact";
import "./styles.css";
import { App } from "./app";
import { boot } from "./data/sdk";

render(<App />, document.getElementById("root")!);
void boot();

if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch((err) => console.warn("service worker not registered", err));
  });
}
