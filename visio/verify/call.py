"""A real call through the SFU: two WebRTC participants (the `livekit` SDK's libwebrtc), one
publishing a generated tone, the other finding the tone's frequency in what it receives.

A connected state proves nothing about media; the frequency found in the received samples does.
Tokens are signed with the stack's generated API key and secret, as the signalling backend signs them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

import numpy as np
from livekit import api, rtc

from visio.report.checkresult import Outcome

RATE = 48_000
FRAME = RATE // 100  # 10 ms frames, as a microphone delivers them
TONE_HZ = 697.0  # not a multiple of the frame rate: a stuck or repeated frame would move the peak
TOLERANCE_HZ = 10.0
LISTEN_SECONDS = 2.0
TIMEOUT = 20.0


def token(key: str, secret: str, identity: str, room: str) -> str:
    grants = api.VideoGrants(room_join=True, room=room)
    return api.AccessToken(key, secret).with_identity(identity).with_grants(grants).to_jwt()


def dominant_frequency(samples: np.ndarray[Any, Any]) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float(freqs[int(np.argmax(spectrum[1:])) + 1])


async def tone(source: rtc.AudioSource, stop: asyncio.Event, hz: float = TONE_HZ) -> None:
    t = 0
    while not stop.is_set():
        n = np.arange(t, t + FRAME)
        frame = rtc.AudioFrame.create(RATE, 1, FRAME)
        np.frombuffer(frame.data, dtype=np.int16)[:] = (0.3 * 32767 * np.sin(2 * np.pi * hz * n / RATE)).astype(
            np.int16)
        await source.capture_frame(frame)  # paced by the native queue
        t += FRAME


async def _listen(track: rtc.Track) -> np.ndarray[Any, Any]:
    stream = rtc.AudioStream.from_track(track=track, sample_rate=RATE, num_channels=1)
    chunks: list[np.ndarray[Any, Any]] = []
    have, need = 0, int(LISTEN_SECONDS * RATE)
    try:
        async for event in stream:
            x = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float32)
            if not chunks and np.abs(x).max() < 500:
                continue  # the silence before the first decoded packet
            chunks.append(x)
            have += len(x)
            if have >= need:
                break
    finally:
        await stream.aclose()
    return np.concatenate(chunks)[:need]


async def _call(url: str, key: str, secret: str, options: rtc.RoomOptions) -> tuple[float, dict[str, str]]:
    room_name = f"verify-{secrets.token_hex(4)}"
    loop = asyncio.get_running_loop()
    speaker, listener = rtc.Room(loop), rtc.Room(loop)
    subscribed: asyncio.Future[rtc.Track] = loop.create_future()

    @listener.on("track_subscribed")
    def _on_track(track: rtc.Track, *_: Any) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO and not subscribed.done():
            subscribed.set_result(track)

    start = time.monotonic()
    stop = asyncio.Event()
    try:
        await listener.connect(url, token(key, secret, "listener", room_name), options)
        await speaker.connect(url, token(key, secret, "speaker", room_name), options)
        source = rtc.AudioSource(RATE, 1)
        track = rtc.LocalAudioTrack.create_audio_track("tone", source)
        playing = asyncio.create_task(tone(source, stop))
        await speaker.local_participant.publish_track(
            track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        received = await asyncio.wait_for(_listen(await asyncio.wait_for(subscribed, TIMEOUT)), TIMEOUT)
        stop.set()
        await playing
    finally:
        stop.set()
        await speaker.disconnect()
        await listener.disconnect()
    evidence = {"room": room_name, "samples": str(len(received)), "seconds": f"{time.monotonic() - start:.1f}"}
    return dominant_frequency(received), evidence


def tone_call(url: str, key: str, secret: str, options: rtc.RoomOptions | None = None) -> Outcome:
    """Join, publish the tone, receive it; pass when the received audio's peak is the tone."""
    # A loop of its own, never installed as the thread's: asyncio.run would leave the thread without
    # one, and the Pulumi runtime (plan, in the same process) needs the thread's loop.
    loop = asyncio.new_event_loop()
    # The SDK's own log lines (a data channel "closed unexpectedly" as the participants leave, at
    # error level) are not the check's findings, and arrive in batches after the call: kept quiet.
    logging.getLogger("livekit").setLevel(logging.CRITICAL)
    try:
        # Past the SDK's own three connection attempts, so that its reason is the one reported.
        peak, evidence = loop.run_until_complete(
            asyncio.wait_for(_call(url, key, secret, options or rtc.RoomOptions()), 6 * TIMEOUT))
    except (TimeoutError, rtc.ConnectError) as exc:
        return False, f"no audio reached the listener: {type(exc).__name__}: {exc}".rstrip(": "), {"url": url}
    except Exception as exc:  # whatever the SDK raises, the call did not happen
        return False, f"the call failed: {type(exc).__name__}: {exc}".rstrip(": "), {"url": url}
    finally:
        loop.close()
    evidence.update({"sent": f"{TONE_HZ:.0f} Hz", "received peak": f"{peak:.1f} Hz"})
    if abs(peak - TONE_HZ) > TOLERANCE_HZ:
        return False, f"the listener received audio, but its peak is {peak:.1f} Hz, not the {TONE_HZ:.0f} Hz tone", \
            evidence
    return True, f"the listener received the speaker's {TONE_HZ:.0f} Hz tone through the SFU", evidence
