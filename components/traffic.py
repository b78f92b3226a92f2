"""What one room asks of an SFU: RTP streams received and forwarded, and the bitrate in and out.

LiveKit's benchmarking guide names the forwarded bitrate (per-track bitrate x tracks published x
subscribers) as the main proxy for SFU work. The unit here is one RTP stream the node handles, received
or forwarded; the two published 16-core benchmarks give what a core carries, for video and for audio.
Exact fractions throughout, so that the benchmark room comes out at exactly one node.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from common.config.model import Capacity


@dataclass(frozen=True)
class Figure:
    """One number the sizing uses, the key that overrides it and where the default comes from."""

    key: str
    value: float | int | str
    source: str


PLANNING = "planning assumption"

# LiveKit benchmark, 16-core node: 150 video publishers and 150 subscribers at ~85% CPU, each
# publisher sending 3 simulcast layers (the load tester's 720p simulcast loop) and each subscriber
# receiving the other 149 cameras.
BENCH_VIDEO = (Fraction(150 * 3 + 150 * 149, 16) / Fraction("0.85"),
               "LiveKit benchmark, 16 cores: 150 video publishers x 150 subscribers at ~85% CPU "
               "(450 simulcast layers in, 22,350 streams out)")
# Audio only: 10 publishers and 3,000 subscribers at ~80% CPU.
BENCH_AUDIO = (Fraction(10 + 10 * 3000, 16) / Fraction("0.80"),
               "LiveKit benchmark, 16 cores: 10 audio publishers x 3,000 subscribers at ~80% CPU")

# Bitrates of livekit-client's presets (client-sdk-js VideoPresets, ScreenSharePresets, AudioPresets).
SIMULCAST_LAYERS = {"h180": 160_000, "h360": 450_000, "h720": 1_700_000}
SCREEN_BPS = 2_500_000  # ScreenSharePresets.h1080fps15
AUDIO_BPS = 48_000  # AudioPresets.music
BITRATE_SOURCE = "livekit-client presets: h180 160 kb/s, h360 450 kb/s, h720 1.7 Mb/s, screen h1080fps15 " \
                 "2.5 Mb/s, audio 48 kb/s"

# Adaptive stream sends each subscriber the layer closest to the tile it renders: on a 1080p screen a
# 2x2 grid shows 960x540 tiles (h720), up to 4x4 tiles of 480x270 (h360), smaller tiles beyond.
GRID_LAYERS = ((4, "h720"), (16, "h360"))
LAYER_SOURCE = "planning assumption: adaptive stream picks the layer of the rendered tile " \
               "(<= 4 tiles h720, <= 16 h360, else h180; speaker view h720)"

DEFAULTS: dict[str, tuple[float | int | str, str]] = {
    # Every camera on: the heaviest a meeting gets.
    "traffic.cameraShare": (1.0, PLANNING),
    # Muted microphones send no media; a meeting has a few open at once.
    "traffic.openMicrophonesPerRoom": (3, PLANNING),
    "traffic.audioOnlyShare": (0.0, PLANNING),
    "traffic.layout": ("grid", PLANNING),
    "traffic.screenShareShare": (0.5, PLANNING),
    # A quarter of the participants sit behind networks that only let TURN over TLS through.
    "traffic.relayedShare": (0.25, PLANNING),
    # One in ten is in a room with live subtitles on (the agent opens one STT stream per participant).
    "traffic.captionedShare": (0.10, PLANNING),
    "sfuNode.cores": (16, "LiveKit benchmark node (16 cores)"),
    "sfuNode.cpuTarget": (0.85, "LiveKit benchmark: the video room ran at ~85% CPU"),
    "sfuNode.nicGbps": (10.0, PLANNING),
    "sfuNode.nicTarget": (0.7, PLANNING),
}


@dataclass(frozen=True)
class Profile:
    """The traffic profile of a stack, every figure resolved to its value and source."""

    camera_share: Fraction
    open_microphones: int
    audio_only_share: Fraction
    layout: str
    screen_share_share: Fraction
    cores: int
    cpu_target: Fraction
    nic_bps: Fraction
    nic_target: Fraction
    video_per_core: Fraction
    audio_per_core: Fraction
    figures: tuple[Figure, ...]

    @property
    def node_work(self) -> Fraction:
        """Video-stream units one node carries at its CPU target."""
        return self.cores * self.cpu_target * self.video_per_core

    @property
    def node_bps(self) -> Fraction:
        """Bitrate one node carries each way at its NIC target."""
        return self.nic_bps * self.nic_target

    @property
    def audio_weight(self) -> Fraction:
        """What an audio stream costs, in video streams."""
        return self.video_per_core / self.audio_per_core


def figure(cap: Capacity, key: str) -> tuple[float | int | str, Figure]:
    section, name = key.split(".")
    mine = getattr(getattr(cap, section), name)
    value, source = DEFAULTS[key] if mine is None else (mine, "stack")
    return value, Figure(f"capacity.{key}", value, source)


def _q(value: float | int | str) -> Fraction:
    return Fraction(str(value))


def profile(cap: Capacity) -> Profile:
    figures: list[Figure] = []

    def get(key: str) -> float | int | str:
        value, fig = figure(cap, key)
        figures.append(fig)
        return value

    def bench(key: str, default: tuple[Fraction, str]) -> Fraction:
        mine = getattr(cap.sfuNode, key)
        value, source = (default[0], default[1]) if mine is None else (_q(mine), "stack (calibration)")
        figures.append(Figure(f"capacity.sfuNode.{key}", round(float(value), 1), source))
        return value

    prof = Profile(
        camera_share=_q(get("traffic.cameraShare")),
        open_microphones=int(get("traffic.openMicrophonesPerRoom")),
        audio_only_share=_q(get("traffic.audioOnlyShare")),
        layout=str(get("traffic.layout")),
        screen_share_share=_q(get("traffic.screenShareShare")),
        cores=int(get("sfuNode.cores")),
        cpu_target=_q(get("sfuNode.cpuTarget")),
        nic_bps=_q(get("sfuNode.nicGbps")) * 1_000_000_000,
        nic_target=_q(get("sfuNode.nicTarget")),
        video_per_core=bench("videoStreamsPerCore", BENCH_VIDEO),
        audio_per_core=bench("audioStreamsPerCore", BENCH_AUDIO),
        figures=(),
    )
    figures += [Figure("track bitrates", "livekit-client presets", BITRATE_SOURCE),
                Figure("simulcast layer received", prof.layout, LAYER_SOURCE)]
    return replace(prof, figures=tuple(figures))


@dataclass(frozen=True)
class RoomLoad:
    """One room of `participants` people at peak: what it sends through its node."""

    participants: int
    cameras: Fraction
    layer: str
    published: Fraction  # tracks: cameras, screen shares, open microphones
    streams_in: Fraction  # video layers, screen shares and microphones received
    video_out: Fraction  # camera and screen-share streams forwarded
    audio_out: Fraction
    audio_in: Fraction
    ingress_bps: Fraction
    egress_bps: Fraction
    work: Fraction  # in video-stream units

    @property
    def forwarded(self) -> Fraction:
        return self.video_out + self.audio_out


def room_load(n: int, prof: Profile) -> RoomLoad:
    viewers = n * (1 - prof.audio_only_share)
    cameras = viewers * prof.camera_share
    if prof.layout == "speaker":
        layer, camera_out = "h720", min(cameras, Fraction(1)) * max(viewers - 1, Fraction(0))
    else:
        tiles = cameras
        layer = next((name for most, name in GRID_LAYERS if tiles <= most), "h180")
        # Every viewer receives every camera but their own.
        camera_out = cameras * max(viewers - 1, Fraction(0))
    screens = prof.screen_share_share
    screen_out = screens * max(viewers - 1, Fraction(0))
    mics = Fraction(min(prof.open_microphones, n))
    audio_out = mics * (n - 1)
    video_in = cameras * len(SIMULCAST_LAYERS) + screens
    work = video_in + camera_out + screen_out + prof.audio_weight * (mics + audio_out)
    ingress = cameras * sum(SIMULCAST_LAYERS.values()) + screens * SCREEN_BPS + mics * AUDIO_BPS
    egress = camera_out * SIMULCAST_LAYERS[layer] + screen_out * SCREEN_BPS + audio_out * AUDIO_BPS
    return RoomLoad(
        participants=n, cameras=cameras, layer=layer, published=cameras + screens + mics, streams_in=video_in + mics,
        video_out=camera_out + screen_out, audio_out=audio_out, audio_in=mics,
        ingress_bps=ingress, egress_bps=egress, work=work,
    )
