"""Calibrate the SFU sizing on the real LiveKit server: RTP streams a core carries, for audio and video.

Run from the repository root, with the pinned server on PATH:

    PATH="$(scripts/build-tools.sh livekit | tail -1):$PATH" .venv/bin/python bench/sfu_calibration.py \
        [--stack culture-staging] [--seconds 20] [--audio 2,4,8,12] [--video 2,3,4,6] [--json FILE]

The server is started as `visio verify --local` starts it: from the `config.yaml` the media chart
renders for the stack, its Redis the signalling chart's (real `redis-server`), its TURN the real coturn;
only the ports move to loopback, the UDP range widens to hold every participant, and a Prometheus
port is opened to read the server's packet and byte counters.

Each scenario is one room of N real WebRTC participants (the `livekit` SDK's libwebrtc): all publish
(audio: a tone at 48 kb/s Opus; video: 320x180 at 15 fps, one layer) and all subscribe to the others,
so the server receives N streams and forwards N x (N - 1). After the subscriptions settle, the server
process's own CPU time (/proc/PID/stat) and its packet counters are read over `--seconds`. The idle
server's CPU is measured first and subtracted. A least-squares line through the origin over the
scenarios gives the streams one core carries at 100%: what `visio:capacity.sfuNode.videoStreamsPerCore`
and `audioStreamsPerCore` take. The clients run on the same machine; only the server's CPU is counted.

Nothing here is a test: the figures are printed (and, with --json, written) for docs/sizing.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from livekit import rtc

from common.config import load_stack
from components import catalogue
from components.traffic import BENCH_AUDIO, BENCH_VIDEO
from visio.verify import livekit, local
from visio.verify.call import RATE, token, tone

WIDTH, HEIGHT, FPS = 320, 180, 15
SETTLE_SECONDS = 6.0
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _counters(port: int) -> dict[str, float]:
    """The server's packet and byte counters by direction (Prometheus text format)."""
    text = urllib.request.urlopen(f"http://{local.LOOPBACK}:{port}/metrics", timeout=5).read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r'^livekit_packet_(total|bytes)\{([^}]*)\} ([0-9.e+]+)$', line)
        if not m:
            continue
        direction = re.search(r'direction="(\w+)"', m.group(2))
        if direction:
            key = f"{m.group(1)}_{direction.group(1)}"
            out[key] = out.get(key, 0.0) + float(m.group(3))
    return out


async def _frames(source: rtc.VideoSource, seed: int, stop: asyncio.Event) -> None:
    # Moving noise: the encoder cannot skip it, so every frame costs packets, as a camera does.
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (HEIGHT, WIDTH, 4), dtype=np.uint8)
    i = 0
    while not stop.is_set():
        frame = np.roll(base, i, axis=1)
        source.capture_frame(rtc.VideoFrame(WIDTH, HEIGHT, rtc.VideoBufferType.RGBA, frame.tobytes()))
        i += 3
        await asyncio.sleep(1 / FPS)


@dataclass
class Scenario:
    kind: str
    participants: int
    streams_in: int
    streams_out: int
    seconds: float
    server_cores: float
    packets_out_per_s: float
    mbps_out: float
    mbps_in: float


async def _room(url: str, key: str, secret: str, kind: str, n: int, seconds: float, pid: int, prom: int,
                idle: float) -> Scenario:
    loop = asyncio.get_running_loop()
    name = f"calib-{kind}-{n}-{secrets.token_hex(3)}"
    rooms = [rtc.Room(loop) for _ in range(n)]
    expected = n * (n - 1)
    subscribed = 0
    everyone: asyncio.Future[None] = loop.create_future()

    def _on_track(*_: Any) -> None:
        nonlocal subscribed
        subscribed += 1
        if subscribed >= expected and not everyone.done():
            everyone.set_result(None)

    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        for i, room in enumerate(rooms):
            room.on("track_subscribed", _on_track)
            await room.connect(url, token(key, secret, f"p{i}", name))
        for i, room in enumerate(rooms):
            if kind == "audio":
                source = rtc.AudioSource(RATE, 1)
                track: rtc.LocalTrack = rtc.LocalAudioTrack.create_audio_track("mic", source)
                options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE, dtx=False)
                tasks.append(asyncio.create_task(tone(source, stop, 300.0 + 37 * i)))
            else:
                vsource = rtc.VideoSource(WIDTH, HEIGHT)
                track = rtc.LocalVideoTrack.create_video_track("camera", vsource)
                options = rtc.TrackPublishOptions(
                    source=rtc.TrackSource.SOURCE_CAMERA, simulcast=False,
                    video_encoding=rtc.VideoEncoding(max_bitrate=160_000, max_framerate=FPS))
                tasks.append(asyncio.create_task(_frames(vsource, i, stop)))
            await room.local_participant.publish_track(track, options)
        await asyncio.wait_for(everyone, 60)
        await asyncio.sleep(SETTLE_SECONDS)
        c0, m0, t0 = _cpu_seconds(pid), _counters(prom), time.monotonic()
        await asyncio.sleep(seconds)
        c1, m1, t1 = _cpu_seconds(pid), _counters(prom), time.monotonic()
    finally:
        stop.set()
        for task in tasks:
            await task
        for room in rooms:
            await room.disconnect()
    wall = t1 - t0

    def rate(key: str) -> float:
        return (m1.get(key, 0.0) - m0.get(key, 0.0)) / wall

    return Scenario(kind, n, n, expected, round(wall, 1), round((c1 - c0) / wall - idle, 4),
                    round(rate("total_outgoing"), 1), round(rate("bytes_outgoing") * 8 / 1e6, 2),
                    round(rate("bytes_incoming") * 8 / 1e6, 2))


def _per_core(scenarios: Sequence[Scenario], measure: str = "streams") -> float | None:
    """Streams (in + out), packets out per second or Mb/s out that one core carries at 100%: the
    least-squares line through the origin of the server's cores against the measure."""
    def x(s: Scenario) -> float:
        return {"streams": s.streams_in + s.streams_out, "packets": s.packets_out_per_s, "mbps": s.mbps_out}[measure]
    xs = [x(s) for s in scenarios]
    ys = [s.server_cores for s in scenarios]
    slope = sum(a * b for a, b in zip(xs, ys, strict=True)) / sum(a * a for a in xs) if xs else 0.0
    return round(1 / slope, 1) if slope > 0 else None


def _sizes(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="culture-staging")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--audio", default="2,4,8,12", help="room sizes of the audio scenarios")
    parser.add_argument("--video", default="2,3,4,6", help="room sizes of the video scenarios")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    logging.getLogger("livekit").setLevel(logging.CRITICAL)

    config = load_stack(args.stack).config
    media, redis_chart = local.render_media(config), local.render_redis(config)
    values = livekit.generated(catalogue.service("media").values.secrets(config))
    prom = local.free_port()
    udp = livekit._udp_range(400)

    def measured(conf: dict[str, Any]) -> dict[str, Any]:
        conf["rtc"].update({"port_range_start": udp[0], "port_range_end": udp[1]})
        conf["prometheus"] = {"port": prom}
        return conf

    base = Path(tempfile.mkdtemp(prefix="visio-calibration-"))
    os.chmod(base, 0o711)
    results: list[Scenario] = []
    try:
        with local.turnserver(media, base / "coturn", values[("turn-auth", "static-auth-secret")],
                              domain=config.media.turn.domain, uid=local.run_as(media.pod, media.container)) as turn, \
                local.redis_server(redis_chart, base / "redis", values[("redis-auth", "password")],
                                   uid=local.run_as(redis_chart.pod, redis_chart.container)) as redis, \
                livekit.livekit_server(media, base / "livekit", values, redis.port, turn, transform=measured) as sfu:
            if sfu.failure is not None:
                print(f"error: LiveKit did not start: {sfu.failure}", file=sys.stderr)
                return 2
            url = f"ws://{local.LOOPBACK}:{sfu.port}"
            c0, t0 = _cpu_seconds(sfu.pid), time.monotonic()
            time.sleep(min(args.seconds, 10.0))
            idle = (_cpu_seconds(sfu.pid) - c0) / (time.monotonic() - t0)
            loop = asyncio.new_event_loop()
            try:
                for kind, sizes in (("audio", _sizes(args.audio)), ("video", _sizes(args.video))):
                    for n in sizes:
                        s = loop.run_until_complete(_room(url, sfu.api_key, sfu.api_secret, kind, n, args.seconds,
                                                          sfu.pid, prom, idle))
                        results.append(s)
                        print(f"{s.kind:5} room of {s.participants:2}: {s.streams_in:3} in, {s.streams_out:4} out, "
                              f"{s.server_cores:.3f} cores, {s.packets_out_per_s:8.0f} pkt/s out, "
                              f"{s.mbps_out:7.2f} Mb/s out", flush=True)
            finally:
                loop.close()
            version = livekit.server_version()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    audio = _per_core([s for s in results if s.kind == "audio"])
    video = _per_core([s for s in results if s.kind == "video"])
    summary = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
        "server": version, "stack": args.stack, "idleCores": round(idle, 4),
        "scenarios": [asdict(s) for s in results],
        "audioStreamsPerCore": audio, "videoStreamsPerCore": video,
        **{f"{kind}{name}PerCore": _per_core([s for s in results if s.kind == kind], measure)
           for kind in ("audio", "video") for name, measure in (("PacketsOut", "packets"), ("MbpsOut", "mbps"))},
        # What this machine's cores carry at the benchmark's CPU target, by the same lines.
        "atTarget": {"cpuTarget": 0.85, "cores": os.cpu_count(),
                     "audioStreams": round((audio or 0) * 0.85 * (os.cpu_count() or 1)),
                     "videoStreams": round((video or 0) * 0.85 * (os.cpu_count() or 1))},
        "published": {"audioStreamsPerCore": round(float(BENCH_AUDIO[0]), 1),
                      "videoStreamsPerCore": round(float(BENCH_VIDEO[0]), 1)},
    }
    print(f"idle server: {idle:.4f} cores; LiveKit {version}")
    published = summary["published"]
    assert isinstance(published, dict)
    print(f"audio: {audio} streams per core (published 16-core benchmark: {published['audioStreamsPerCore']})")
    print(f"video: {video} streams per core at {WIDTH}x{HEIGHT} {FPS} fps "
          f"(published, 720p simulcast: {published['videoStreamsPerCore']})")
    at = summary["atTarget"]
    assert isinstance(at, dict)
    print(f"at 85% of this machine's {at['cores']} cores: {at['audioStreams']} audio or {at['videoStreams']} "
          "video streams")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
