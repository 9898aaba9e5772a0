import { useState } from "preact/hooks";
import { t } from "../i18n";
import { signIn } from "../data/sdk";
import { LangSwitch } from "../ui/shell";

const DEMO = ["dist-north", "field-north", "inspector-north", "supplier-a"];

export function Login() {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <div style={{ textAlign: "right" }}>
        <span style={{ background: "var(--brand)", borderRadius: "999px", display: "inline-block" }}><LangSwitch /></span>
      </div>
      <img class="logo" src="/app/icons/icon-192.png" alt="" />
      <h1>{t("app_name")}</h1>
      <p class="muted" style={{ textAlign: "center", marginTop: 0 }}>{t("login_tagline")}</p>
      <form class="card" onSubmit={submit}>
        <label class="field">
          <span>{t("username")}</span>
          <input type="text" name="username" autocomplete="username" autocapitalize="none" value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} required />
        </label>
        <label class="field">
          <span>{t("password")}</span>
          <input type="password" name="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        {error && <div class="notice bad" role="alert">{error}</div>}
        <button class="btn block" type="submit" disabled={busy}>{busy ? t("signing_in") : t("sign_in")}</button>
      </form>
      <div class="card demo small">
        <b>{t("demo_logins")}</b>
        <p class="muted" style={{ margin: ".3rem 0" }}>{t("demo_password")}</p>
        <div class="choices">
          {DEMO.map((u) => (
            <button type="button" key={u} onClick={() => { setUsername(u); setPassword("fieldsync-demo"); }}>{u}</button>
          ))}
        </div>
      </div>
    </div>
  );
}
