// Small building blocks every screen uses.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { t, tn } from "../i18n";
import type { Key } from "../locales/en";
import { linkClick } from "../router";

export function Link(props: { href: string; class?: string; children: ComponentChildren; "aria-label"?: string; "data-testid"?: string }) {
  const { href, children, ...rest } = props;
  return (
    <a href={`/app${href}`} onClick={(e) => linkClick(e as unknown as MouseEvent, href)} {...rest}>
      {children}
    </a>
  );
}

export function Card(props: { title?: string; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card ${props.class ?? ""}`} id={props.id}>
      {props.title && <h2>{props.title}</h2>}
      {props.children}
    </section>
  );
}

export function Figure(props: { value: string; label: string; href?: string; tone?: "warn" | "bad"; testid?: string }) {
  const body = (
    <>
      <div class="v">{props.value}</div>
      <div class="l">{props.label}</div>
    </>
  );
  const cls = `figure ${props.tone ?? ""}`;
  return props.href ? (
    <Link href={props.href} class={cls} data-testid={props.testid}>{body}</Link>
  ) : (
    <div class={cls} data-testid={props.testid}>{body}</div>
  );
}

/** A state badge: `state_<state>` words, coloured by state. */
export function StatePill(props: { state: string; pending?: boolean }) {
  return (
    <span class={`pill ${props.state}`} data-state={props.state}>
      {t(`state_${props.state}` as Key)}
      {props.pending ? " · " + t("waiting_to_sync") : ""}
    </span>
  );
}

export function PendingPill() {
  return <span class="pill pending">{t("waiting_to_sync")}</span>;
}

export function Empty(props: { children: ComponentChildren }) {
  return <div class="empty">{props.children}</div>;
}

export function Stepper(props: { value: number; onChange: (n: number) => void; min?: number; max?: number; label: string; testid?: string }) {
  const min = props.min ?? 0;
  const clamp = (n: number) => Math.max(min, props.max === undefined ? n : Math.min(props.max, n));
  return (
    <span class="stepper" data-testid={props.testid}>
      <button type="button" aria-label={`${props.label} −1`} onClick={() => props.onChange(clamp(props.value - 1))}>−</button>
      <input
        type="number"
        inputMode="numeric"
        aria-label={props.label}
        value={props.value}
        min={min}
        max={props.max}
        onInput={(e) => {
          const n = parseInt((e.target as HTMLInputElement).value, 10);
          if (!Number.isNaN(n)) props.onChange(clamp(n));
        }}
      />
      <button type="button" aria-label={`${props.label} +1`} onClick={() => props.onChange(clamp(props.value + 1))}>+</button>
    </span>
  );
}

/** A camera outline (no emoji font needed). */
export function CameraIcon() {
  return (
    <svg class="ico-svg" viewBox="0 0 24 24" aria-hidden="true">
      <path d="M4 8h3l2-3h6l2 3h3v11H4z" />
      <circle cx="12" cy="13" r="3.5" />
    </svg>
  );
}

/** The phone's camera (`capture`), or a file picker on desktop; hands back the chosen files. */
export function PhotoInput(props: { label: string; onFiles: (files: File[]) => void; testid?: string; multiple?: boolean }) {
  return (
    <label class="capture">
      <CameraIcon /> {props.label}
      <input
        type="file"
        accept="image/*"
        capture="environment"
        multiple={props.multiple ?? true}
        data-testid={props.testid}
        onChange={(e) => {
          const input = e.target as HTMLInputElement;
          const files = [...(input.files ?? [])];
          input.value = "";
          if (files.length) props.onFiles(files);
        }}
      />
    </label>
  );
}

/** Thumbnails of photos taken on this phone (object URLs of the files). */
export function Thumbs(props: { files: Blob[] }) {
  const [urls, setUrls] = useState<string[]>([]);
  useEffect(() => {
    const next = props.files.map((f) => URL.createObjectURL(f));
    setUrls(next);
    return () => next.forEach((u) => URL.revokeObjectURL(u));
  }, [props.files]);
  if (!urls.length) return null;
  return <div class="photos">{urls.map((u) => <img src={u} alt="" key={u} />)}</div>;
}

/** A signature drawn with a finger or a mouse; `onChange` gets the PNG (or null when cleared). */
export function SignaturePad(props: { onChange: (png: Blob | null) => void; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef(false);
  const [signed, setSigned] = useState(false);
  useEffect(() => {
    const c = canvas.current!;
    const ratio = window.devicePixelRatio || 1;
    c.width = c.clientWidth * ratio;
    c.height = c.clientHeight * ratio;
    const ctx = c.getContext("2d")!;
    ctx.scale(ratio, ratio);
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#15302a";
  }, []);
  const point = (e: PointerEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top] as const;
  };
  const down = (e: PointerEvent) => {
    drawing.current = true;
    canvas.current!.setPointerCapture(e.pointerId);
    const ctx = canvas.current!.getContext("2d")!;
    const [x, y] = point(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
  };
  const move = (e: PointerEvent) => {
    if (!drawing.current) return;
    const ctx = canvas.current!.getContext("2d")!;
    const [x, y] = point(e);
    ctx.lineTo(x, y);
    ctx.stroke();
  };
  const up = () => {
    if (!drawing.current) return;
    drawing.current = false;
    setSigned(true);
    canvas.current!.toBlob((b) => props.onChange(b), "image/png");
  };
  const clear = () => {
    const c = canvas.current!;
    c.getContext("2d")!.clearRect(0, 0, c.width, c.height);
    setSigned(false);
    props.onChange(null);
  };
  return (
    <div>
      <canvas
        ref={canvas}
        class="signature"
        aria-label={props.label}
        data-testid="signature"
        onPointerDown={down as unknown as JSX.PointerEventHandler<HTMLCanvasElement>}
        onPointerMove={move as unknown as JSX.PointerEventHandler<HTMLCanvasElement>}
        onPointerUp={up}
        onPointerCancel={up}
      />
      <div class="row small muted" style={{ marginTop: ".3rem" }}>
        <span class="grow">{signed ? t("signature_taken") : t("signature_hint")}</span>
        <button type="button" class="btn secondary small" onClick={clear}>{t("clear")}</button>
      </div>
    </div>
  );
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;
/** A short message at the bottom of the screen. */
export function toast(text: string): void {
  let el = document.getElementById("toast");
  if (!el) {
    el = document.createElement("div");
    el.id = "toast";
    el.className = "toast";
    el.setAttribute("role", "status");
    document.body.appendChild(el);
  }
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el!.hidden = true), 3000);
}

export function Count(props: { base: string; n: number }) {
  return <>{tn(props.base, props.n)}</>;
}
