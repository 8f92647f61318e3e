"""Apple Health benchmark: a year-long export.xml whose last day holds 24 h of heart rate,
read and scored in a fresh process.

    python -m benchmarks.apple_health [--history-days 365]

The export (written in a temporary folder) is what a watch owner's export looks like: mostly
one-line records of other types (active and basal energy about once a minute, steps and
distance from the phone and the watch, stand hours), background heart rate every 5 min, an
HRV reading (SDNN with its instantaneous beats) every 2 h; and on its last day 24 h of heart
rate every 5 s, as an Apple Watch records during a workout (drive06's HR over and over). A
fresh subprocess reads it with read_recording and scores it with recording models trained
here in quick mode (three drives, no evaluation); it prints the file size, the read time,
the scoring time and its own peak resident memory (VmHWM), against the targets: read <= 5 s,
peak <= 500 MB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.recordings import measured_in_a_child
from mlcore import drivedb
from mlcore.tests.readers.test_apple_health_reader import HEAD as APPLE_EXPORT_HEAD

ROOT = Path(__file__).resolve().parents[1]
ZONE_MIN = 60  # +0100
END = datetime(2024, 3, 6, 8, 0, tzinfo=UTC)
DAY_S = 24 * 3600
BUNDLE_DRIVES = ["drive05", "drive07", "drive08"]
WATCH = "Jane\u2019s Apple Watch"
PHONE = "Jane\u2019s iPhone"
WATCH_DEVICE = (
    "&lt;&lt;HKDevice: 0x283a1d4f0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,2, software:10.3.1&gt;"
)
PHONE_DEVICE = (
    "&lt;&lt;HKDevice: 0x281b6c0a0&gt;, name:iPhone, manufacturer:Apple Inc., "
    "model:iPhone, hardware:iPhone14,5, software:17.3.1&gt;"
)
# The export's DOCTYPE and opening, as Apple writes them (shared with the reader's tests).
HEAD = APPLE_EXPORT_HEAD

_DAYS: dict[int, str] = {}


def stamp(epoch: float) -> str:
    """Unix seconds -> '2024-03-05 08:00:03 +0100' (fast: the date is cached per day)."""
    local = int(epoch) + ZONE_MIN * 60
    day, clock = divmod(local, 86400)
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = (datetime(1970, 1, 1) + timedelta(days=day)).strftime("%Y-%m-%d")
    hours, rest = divmod(clock, 3600)
    return f"{text} {hours:02d}:{rest // 60:02d}:{rest % 60:02d} +0100"


def clock_time(epoch: float) -> str:
    """The en_US clock time of a beat: '8:00:05.12 AM'."""
    local = epoch + ZONE_MIN * 60
    clock = local % 86400
    hours, rest = divmod(int(clock), 3600)
    centis = int((clock % 1) * 100)
    half = "AM" if hours < 12 else "PM"
    return f"{hours % 12 or 12}:{rest // 60:02d}:{rest % 60:02d}.{centis:02d} {half}"


def one_line(kind: str, start: float, seconds: float, value: float, unit: str, phone: bool):
    source, device = (PHONE, PHONE_DEVICE) if phone else (WATCH, WATCH_DEVICE)
    return (
        f' <Record type="HKQuantityTypeIdentifier{kind}" sourceName="{source}" '
        f'sourceVersion="17.3.1" device="{device}" unit="{unit}" '
        f'creationDate="{stamp(start + seconds + 30)}" startDate="{stamp(start)}" '
        f'endDate="{stamp(start + seconds)}" value="{value:.4g}"/>\n'
    )


def heart_rate(at: float, bpm: float) -> str:
    return (
        f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{WATCH}" '
        f'sourceVersion="10.3.1" device="{WATCH_DEVICE}" unit="count/min" '
        f'creationDate="{stamp(at + 4)}" startDate="{stamp(at)}" endDate="{stamp(at)}" '
        f'value="{bpm:.0f}">\n'
        '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="2"/>\n'
        " </Record>\n"
    )


def hrv_reading(at: float, hr_at) -> str:
    beats, t = [], 0.0
    while t < 60.0:
        bpm = hr_at(at + t)
        beats.append(
            f'   <InstantaneousBeatsPerMinute bpm="{bpm:.0f}" time="{clock_time(at + t)}"/>\n'
        )
        t += 60.0 / bpm
    return (
        f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="{WATCH}" '
        f'sourceVersion="10.3.1" device="{WATCH_DEVICE}" unit="ms" '
        f'creationDate="{stamp(at + 65)}" startDate="{stamp(at)}" endDate="{stamp(at + 60)}" '
        f'value="{35 + (at % 97) / 5:.3f}">\n'
        "  <HeartRateVariabilityMetadataList>\n"
        + "".join(beats)
        + "  </HeartRateVariabilityMetadataList>\n </Record>\n"
    )


def day_of_noise(start: float, rng: np.random.Generator) -> list[str]:
    """A day of what makes up most of an export: energy about once a minute from the watch,
    steps and distance from both devices every few minutes, stand hours, flights."""
    lines = []
    for minute in range(0, 24 * 60):
        at = start + minute * 60 + float(rng.integers(0, 50))
        lines.append(one_line("ActiveEnergyBurned", at, 60, rng.gamma(2, 0.4), "kcal", False))
        lines.append(one_line("BasalEnergyBurned", at, 60, 1.1 + rng.random() / 5, "kcal", False))
        if minute % 6 == 0:
            steps = float(rng.integers(0, 600))
            lines.append(one_line("StepCount", at, 300, steps, "count", True))
            lines.append(one_line("StepCount", at + 20, 300, steps * 0.9, "count", False))
            lines.append(one_line("DistanceWalkingRunning", at, 300, steps * 7e-4, "km", True))
            lines.append(one_line("DistanceWalkingRunning", at, 300, steps * 6e-4, "km", False))
        if minute % 60 == 0:
            lines.append(one_line("AppleStandTime", at, 300, 4, "min", False))
            lines.append(one_line("FlightsClimbed", at, 120, 1, "count", True))
    return lines


def write_export(path: Path, history_days: int) -> dict[str, int]:
    """The export: `history_days` of noise and background heart rate, then 24 h of heart rate
    every 5 s with its day's noise and an HRV reading every 2 h."""
    rng = np.random.default_rng(7)
    signals = drivedb.load_drive("drive06").signals
    hr = signals[:, drivedb.COL_HR]
    time_s = signals[:, drivedb.COL_TIME]
    length = float(time_s[-1])

    def hr_at(epoch: float) -> float:
        return float(np.interp((epoch - day_start) % length, time_s, hr))

    end = END.timestamp()
    day_start = end - DAY_S
    counts = {"heart_rate": 0, "hrv": 0, "other": 0}
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEAD.format(export=stamp(end + 3600)))
        for day in range(history_days, 0, -1):
            start = day_start - day * DAY_S
            lines = day_of_noise(start, rng)
            counts["other"] += len(lines)
            out.writelines(lines)
            for minute in range(3, 24 * 60, 5):  # background heart rate
                out.write(heart_rate(start + minute * 60, 58 + rng.integers(0, 25)))
                counts["heart_rate"] += 1
        lines = day_of_noise(day_start, rng)
        counts["other"] += len(lines)
        out.writelines(lines)
        for second in range(0, DAY_S, 5):
            out.write(heart_rate(day_start + second, hr_at(day_start + second)))
            counts["heart_rate"] += 1
        for hour in range(1, 24, 2):
            out.write(hrv_reading(day_start + hour * 3600 + 17.3, hr_at))
            counts["hrv"] += 1
        out.write("</HealthData>\n")
    return counts


CHILD = """
import json, time
from mlcore.readers import read_recording
from mlcore.recordings.scorer import RecordingScorer
scorer = RecordingScorer.load({bundle!r})
t0 = time.perf_counter()
recording = read_recording({path!r}, "export.xml")
read = time.perf_counter() - t0
t1 = time.perf_counter()
prepared = scorer.prepare(recording)
baseline = scorer.baseline_from_recording(prepared, 60.0, 240.0)
result = scorer.score(prepared, baseline=baseline)
scored = time.perf_counter() - t1
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]
print(json.dumps({{
    "read": read, "scored": scored, "windows": len(result.windows),
    "duration_s": recording.duration_s, "start": recording.start_time.isoformat(),
    "channels": recording.describe(), "sdnn": len(recording.extras.get("sdnn_ms", [])),
    "hwm_kb": int(hwm[0].split()[1]) if hwm else None,
}}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-days", type=int, default=365)
    args = parser.parse_args(argv)
    from mlcore.train import train_and_save

    with tempfile.TemporaryDirectory(prefix="apple-health-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        path = folder / "export.xml"
        counts = write_export(path, args.history_days)
        written = time.perf_counter() - t0
        print(
            f"export.xml: {path.stat().st_size / 1e6:.0f} MB, {args.history_days} days of "
            f"history + 24 h of heart rate every 5 s; {counts['heart_rate']:,} heart-rate "
            f"records, {counts['hrv']} HRV readings, {counts['other']:,} other records "
            f"(written in {written:.0f} s)",
            flush=True,
        )
        result = train_and_save(folder / "models", quick=True, drive_names=BUNDLE_DRIVES)
        bundle = result.model_path.parent
        figures = measured_in_a_child(CHILD.format(bundle=str(bundle), path=str(path)))
    channels = ", ".join(f"{c['name']} {c['rate_hz']:g} Hz" for c in figures["channels"])
    peak_mb = figures["hwm_kb"] / 1024 if figures["hwm_kb"] else float("nan")
    total = figures["read"] + figures["scored"]
    print(
        f"read_recording: {figures['read']:.1f} s ({channels}, "
        f"{figures['duration_s'] / 3600:.2f} h from {figures['start']}, "
        f"{figures['sdnn']} SDNN values); scored ({figures['windows']} windows, with a baseline "
        f"from its first minutes): {figures['scored']:.1f} s; read + scored {total:.1f} s "
        "(target <= 5 s)",
        flush=True,
    )
    print(
        f"peak resident memory of the whole process (VmHWM, models and imports included): "
        f"{peak_mb:.0f} MB (target <= 500 MB)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
