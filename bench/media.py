"""Media: tus upload throughput over loopback, and derivative time per 12-megapixel JPEG.

Upload: ``--photos`` distinct 12-MP JPEGs sent with the tuspy client to a real server process,
whole-file and in 1 MiB chunks; MB/s includes the server's Pillow validation and content
addressing. Raw limit: the same bytes through one plain HTTP request to the same server (a tus
creation-with-upload POST, so also validated) — the floor a resumable protocol adds to.
Derivatives: thumbnail (320 px) and display (1600 px) of one 12-MP JPEG, median CPU time of
``--repeats``, with and without JPEG ``draft()`` decoding (in-process, no server). Raw limit:
decoding the same JPEG at the same draft scale, nothing else (the ratio is decode / derivative).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from typing import Any

import _harness as h
import httpx
from PIL import Image
from tusclient import client as tus

from backend.media.derivatives import VARIANTS
from backend.media.imaging import (
    DISPLAY_SIDE,
    THUMBNAIL_SIDE,
    inspect_image,
    make_derivative,
    make_derivatives,
)


def twelve_mp_jpeg(seed: int) -> bytes:
    """A 4000x3000 JPEG with detail (gradients and noise), like a phone photo: 3-6 MB."""
    base = Image.radial_gradient("L").resize((4000, 3000)).convert("RGB")
    noise = Image.effect_noise((4000, 3000), 40 + seed).convert("RGB")
    img = Image.blend(base, noise, 0.35)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, comment=f"bench {seed}".encode())
    return buf.getvalue()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--photos", type=int, default=4, help="12-MP photos to upload per mode")
    parser.add_argument("--repeats", type=int, default=5, help="derivative timings per figure")


def _tus_upload(url: str, headers: dict[str, str], data: bytes, chunk: int) -> None:
    uploader = tus.TusClient(f"{url}/media/uploads/", headers=headers).uploader(
        file_stream=io.BytesIO(data), chunk_size=chunk
    )
    uploader.upload()


def _timed(fn: Any, repeats: int) -> float:
    """Median CPU milliseconds of ``fn`` (CPU time, not wall time: the machine is shared, and on a
    loaded box wall time mostly measures waiting for a core)."""
    samples = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        samples.append(time.process_time() - started)
    return round(statistics.median(samples) * 1000, 1)


def _decode(data: bytes, side: int) -> None:
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (side, side * img.height // img.width))
        img.load()


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    await h.seed_demo_network(target, terminals=20, skus=50)
    photos = [twelve_mp_jpeg(i) for i in range(3 * args.photos)]
    sizes = [len(p) for p in photos]
    figures: dict[str, Any] = {"photo_mb": round(statistics.mean(sizes) / 1e6, 2)}
    server = h.Server(target)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            token = await h.login(http, "inspector-north")
        headers = {"Authorization": f"Bearer {token}"}
        batches = {
            "tus_whole_file": (photos[: args.photos], None),
            "tus_1mib_chunks": (photos[args.photos : 2 * args.photos], 1024 * 1024),
            "raw_single_post": (photos[2 * args.photos :], 0),
        }
        for name, (batch, chunk) in batches.items():
            cpu = server.cpu_seconds()
            started = time.perf_counter()
            for data in batch:
                if chunk == 0:
                    response = httpx.post(
                        f"{server.url}/media/uploads/",
                        headers={
                            **headers,
                            "Tus-Resumable": "1.0.0",
                            "Upload-Length": str(len(data)),
                            "Content-Type": "application/offset+octet-stream",
                        },
                        content=data,
                        timeout=60,
                    )
                    response.raise_for_status()
                else:
                    _tus_upload(server.url, headers, data, chunk or len(data))
            elapsed = time.perf_counter() - started
            figures[name] = {
                "mb_per_s": round(sum(len(d) for d in batch) / 1e6 / elapsed, 1),
                "s_per_photo": round(elapsed / len(batch), 3),
                "server_cpu_ms_per_photo": round((server.cpu_seconds() - cpu) * 1000 / len(batch), 1),
            }
        figures["server_peak_rss_mib"] = server.peak_rss_mib()
    finally:
        server.stop()
    figures["tus_ratio_to_raw"] = h.ratio(
        figures["tus_whole_file"]["mb_per_s"], figures["raw_single_post"]["mb_per_s"]
    )
    sample = photos[0]
    figures["validate_ms"] = _timed(lambda: inspect_image(sample), args.repeats)
    derivatives: dict[str, float] = {}
    for name, side in (("thumb", THUMBNAIL_SIDE), ("display", DISPLAY_SIDE)):
        for draft in (True, False):
            key = f"{name}_ms_{'draft' if draft else 'full_decode'}"
            derivatives[key] = _timed(
                lambda s=side, d=draft: make_derivative(sample, max_side=s, use_draft=d), args.repeats
            )
    derivatives["thumb_and_display_one_decode_ms"] = _timed(
        lambda: make_derivatives(sample, sides=VARIANTS), args.repeats
    )
    # The floor of a derivative: decoding the JPEG at the draft scale each one uses (every byte of
    # the entropy-coded data is read whatever the scale), nothing resized or encoded.
    for name, side in (("thumb", THUMBNAIL_SIDE), ("display", DISPLAY_SIDE)):
        derivatives[f"decode_only_ms_{name}_draft"] = _timed(lambda s=side: _decode(sample, s), args.repeats)
        derivatives[f"{name}_ratio_to_decode"] = h.ratio(
            derivatives[f"decode_only_ms_{name}_draft"], derivatives[f"{name}_ms_draft"]
        )
    figures["derivatives_12mp"] = derivatives
    return figures


def summarise(backend: str, f: dict[str, Any]) -> str:
    d = f["derivatives_12mp"]
    whole, chunked, raw = (f[k]["mb_per_s"] for k in ("tus_whole_file", "tus_1mib_chunks", "raw_single_post"))
    return "\n    ".join(
        [
            f"tus upload of {f['photo_mb']} MB 12-MP JPEGs: whole file {whole} MB/s, 1 MiB chunks "
            f"{chunked} MB/s; one plain POST {raw} MB/s (tus = {f['tus_ratio_to_raw']:.0%} of it); "
            f"validation {f['validate_ms']} ms CPU/photo",
            f"derivatives per 12-MP JPEG (CPU): thumb {d['thumb_ms_draft']} ms with draft / "
            f"{d['thumb_ms_full_decode']} ms without; display {d['display_ms_draft']} ms / "
            f"{d['display_ms_full_decode']} ms; both from one decode (the worker job) "
            f"{d['thumb_and_display_one_decode_ms']} ms; decoding alone at those draft scales "
            f"{d['decode_only_ms_thumb_draft']} / {d['decode_only_ms_display_draft']} ms "
            f"(= {d['thumb_ratio_to_decode']:.0%} / {d['display_ratio_to_decode']:.0%} of the derivative)",
        ]
    )


BENCH = h.Bench("media", measure, summarise, add_arguments)

if __name__ == "__main__":
    raise SystemExit(h.run(BENCH))
