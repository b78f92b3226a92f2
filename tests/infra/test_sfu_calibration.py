"""bench/sfu_calibration.py measures the real server: its counters see the media the clients send.

Functional only, nothing timed: a short run, whose packet rates must be what the rooms forward.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.usefixtures("servers")
def test_a_short_calibration_run_counts_what_the_rooms_forward(tmp_path: Path) -> None:
    out = tmp_path / "calibration.json"
    result = subprocess.run(
        [sys.executable, "bench/sfu_calibration.py", "--seconds", "6", "--audio", "3", "--video", "2",
         "--json", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(out.read_text())
    assert doc["server"].endswith("1.9.12")
    audio, video = doc["scenarios"]
    assert (audio["kind"], audio["streams_in"], audio["streams_out"]) == ("audio", 3, 6)
    # Opus sends 50 packets a second: six forwarded streams are about 300 packets a second out (the
    # server updates its counters every few seconds, so a short window is only roughly that).
    assert 200 <= audio["packets_out_per_s"] <= 450, audio
    assert video["streams_out"] == 2 and video["packets_out_per_s"] > 20 and video["mbps_out"] > 0.1, video
    assert audio["server_cores"] > 0 and doc["audioStreamsPerCore"] > 0 and doc["videoStreamsPerCore"] > 0
