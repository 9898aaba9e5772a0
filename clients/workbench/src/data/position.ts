// Where the phone is, for the evidence of an acceptance: the browser's geolocation (GPS needs no
// network, so this works offline). Absent, refused or without a fix in time: null, and the
// acceptance goes on without it.

export type Gps = [latitude: number, longitude: number];

const round = (x: number) => Math.round(x * 1e6) / 1e6; // ~0.1 m: what the evidence needs

/** The current position (one taken in the last two minutes will do), or null after `timeoutMs`. */
export function currentPosition(timeoutMs = 5_000): Promise<Gps | null> {
  const geo = typeof navigator !== "undefined" ? navigator.geolocation : undefined;
  if (!geo) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs + 500); // a prompt left unanswered
    const done = (value: Gps | null) => {
      clearTimeout(timer);
      resolve(value);
    };
    try {
      geo.getCurrentPosition(
        (p) => done([round(p.coords.latitude), round(p.coords.longitude)]),
        () => done(null),
        { enableHighAccuracy: true, timeout: timeoutMs, maximumAge: 120_000 },
      );
    } catch {
      done(null);
    }
  });
}
