"""The Apple Health reader, on export.xml files written here in Apple's schema (the DOCTYPE
a real export carries, HealthData, ExportDate, Me, Records with their metadata) from
drive06's heart rate (drivedb's HR column, 2 minutes into the drive), with records of other
types around it as a real export has (steps, energy, distance)."""

import zipfile
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from mlcore import drivedb
from mlcore.readers import apple_health_reader, detect_format, read_recording
from mlcore.recordings.recording import RecordingError

ZONE = timezone(timedelta(hours=1))
WORKOUT = datetime(2024, 3, 5, 8, 0, 3, tzinfo=ZONE)
WATCH = "Jane\u2019s Apple Watch"
PHONE = "Jane\u2019s iPhone"
DEVICE = (
    "&lt;&lt;HKDevice: 0x283a1d4f0&gt;, name:Apple Watch, manufacturer:Apple Inc., "
    "model:Watch, hardware:Watch6,2, software:10.3.1&gt;"
)
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|\
Audiogram|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
]>
<HealthData locale="en_US">
 <ExportDate value="{export}"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="1990-01-01" \
HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""
TAIL = "</HealthData>\n"


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


def clock(moment: datetime) -> str:
    """Apple's en_US clock time of a beat: '8:00:05.12 AM'."""
    hour = moment.hour % 12 or 12
    centis = moment.microsecond // 10000
    return f"{hour}:{moment:%M:%S}.{centis:02d} {'AM' if moment.hour < 12 else 'PM'}"


def heart_rate(moment: datetime, bpm: float, source: str = WATCH) -> str:
    """A watch's heart-rate record, with its motion-context metadata (several lines)."""
    return (
        f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{source}" '
        f'sourceVersion="10.3.1" device="{DEVICE}" unit="count/min" '
        f'creationDate="{stamp(moment + timedelta(seconds=5))}" startDate="{stamp(moment)}" '
        f'endDate="{stamp(moment)}" value="{bpm:g}">\n'
        '  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="2"/>\n'
        " </Record>\n"
    )


def other(kind: str, moment: datetime, value: float, unit: str, source: str = PHONE) -> str:
    """A one-line record of a type the reader does not use."""
    end = moment + timedelta(minutes=1)
    return (
        f' <Record type="HKQuantityTypeIdentifier{kind}" sourceName="{source}" '
        f'sourceVersion="17.3.1" unit="{unit}" creationDate="{stamp(end)}" '
        f'startDate="{stamp(moment)}" endDate="{stamp(end)}" value="{value:g}"/>\n'
    )


def hrv(moment: datetime, sdnn: float, beats: list[tuple[datetime, float]]) -> str:
    """An HRV SDNN record with its beat-to-beat instantaneous heart rate."""
    end = beats[-1][0] if beats else moment + timedelta(seconds=60)
    lines = [
        f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="{WATCH}" '
        f'sourceVersion="10.3.1" device="{DEVICE}" unit="ms" creationDate="{stamp(end)}" '
        f'startDate="{stamp(moment)}" endDate="{stamp(end)}" value="{sdnn:g}">\n'
    ]
    if beats:
        lines.append("  <HeartRateVariabilityMetadataList>\n")
        lines += [
            f'   <InstantaneousBeatsPerMinute bpm="{bpm:.0f}" time="{clock(when)}"/>\n'
            for when, bpm in beats
        ]
        lines.append("  </HeartRateVariabilityMetadataList>\n")
    lines.append(" </Record>\n")
    return "".join(lines)


def noise(start: datetime, minutes: int, every: int = 10) -> list[str]:
    """Steps, active energy and distance from the phone every `every` minutes."""
    lines = []
    for minute in range(0, minutes, every):
        moment = start + timedelta(minutes=minute)
        lines.append(other("StepCount", moment, 40 + minute % 17, "count"))
        lines.append(other("ActiveEnergyBurned", moment, 1.25, "kcal", WATCH))
        lines.append(other("DistanceWalkingRunning", moment, 0.031, "km"))
    return lines


def write_export(path, records: list[str], export: datetime = WORKOUT + timedelta(hours=2)):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(HEAD.format(export=stamp(export)))
        handle.writelines(records)
        handle.write(TAIL)
    return path


@pytest.fixture(scope="module")
def hr(drive06) -> np.ndarray:
    """drive06's HR once a second for 30 min, from 120 s into the drive."""
    time_s = drive06.signals[:, drivedb.COL_TIME]
    return np.interp(120.0 + np.arange(1800), time_s, drive06.signals[:, drivedb.COL_HR])


def workout(start: datetime, hr: np.ndarray, every: int = 5, source: str = WATCH) -> list[str]:
    """Heart rate every `every` s, as an Apple Watch records it during a workout."""
    return [
        heart_rate(start + timedelta(seconds=s), round(float(hr[s])), source)
        for s in range(0, hr.size, every)
    ]


def beats_of(start: datetime, hr: np.ndarray, seconds: float) -> list[tuple[datetime, float]]:
    """The beats of a heart beating at `hr` (bpm, once a second from `start`)."""
    beats, t = [], 0.0
    while t < seconds:
        bpm = float(np.interp(t, np.arange(hr.size), hr))
        beats.append((start + timedelta(seconds=t), bpm))
        t += 60.0 / bpm
    return beats


HRV_AT = 600  # the HRV reading, 10 min into the workout, lasts a minute


@pytest.fixture(scope="module")
def export(tmp_path_factory, hr):
    """export.xml: 30 min of drive06's HR every 5 s (an Apple Watch workout from 08:00:03
    +0100), an HRV reading 10 min in (SDNN 45.2 ms and the minute's instantaneous beats),
    and steps, energy and distance every 10 min across the day."""
    start = WORKOUT + timedelta(seconds=HRV_AT)
    records = noise(WORKOUT - timedelta(hours=6), 12 * 60)
    records += workout(WORKOUT, hr)
    records.append(hrv(start, 45.2, beats_of(start, hr[HRV_AT:], 60.0)))
    return write_export(tmp_path_factory.mktemp("apple") / "export.xml", records)


def plain(message: str) -> bool:
    return "/" not in message and "traceback" not in message.lower()


def test_it_sniffs_an_export(export):
    """export.xml (its fixture) by its content; an XML file named export.xml; not others."""
    head = export.read_bytes()[:4096]
    assert apple_health_reader.sniff(head, "export.xml")
    assert apple_health_reader.sniff(head, "upload.bin")
    assert apple_health_reader.sniff(b'<?xml version="1.0"?>\n<x/>', "export.xml")
    assert not apple_health_reader.sniff(b'<?xml version="1.0"?>\n<gpx/>', "route.gpx")
    assert not apple_health_reader.sniff(b"time,HR\n0,70\n", "export.csv")
    assert detect_format(export) == "apple_health"


def test_it_reads_a_workouts_heart_rate_and_the_watchs_sdnn(export, hr):
    """export.xml (its fixture): the workout at 1 Hz, its beats where the HRV reading was."""
    recording = apple_health_reader.read(export, max_duration_s=24 * 3600)
    assert recording.format == "apple_health"
    assert recording.roles == {"hr"}
    channel = recording.channel("hr")
    assert (channel.name, channel.unit, channel.rate_hz) == ("HR", "bpm", 1.0)
    assert recording.start_time == WORKOUT
    assert recording.start_time.utcoffset() == timedelta(hours=1)
    assert recording.duration_s == 1796  # 08:00:03 to the last sample at 08:29:58
    assert not np.isnan(channel.samples).any()
    outside_hrv = np.r_[0:HRV_AT:5, HRV_AT + 65 : 1796 : 5]
    np.testing.assert_array_equal(channel.samples[outside_hrv], np.round(hr[outside_hrv]))
    # Between two 5 s samples: a straight line.
    assert channel.samples[2] == pytest.approx(0.6 * round(hr[0]) + 0.4 * round(hr[5]))
    # In the HRV minute each second holds the beats nearest it: beat-to-beat detail.
    during = channel.samples[HRV_AT + 10 : HRV_AT + 50]
    assert np.abs(during - hr[HRV_AT + 10 : HRV_AT + 50]).mean() < 6
    assert recording.extras["sdnn_ms"] == [(600.0, 45.2)]
    assert {"StepCount", "ActiveEnergyBurned", "DistanceWalkingRunning"} <= set(recording.ignored)


def test_an_export_zip_goes_through_the_dispatcher(tmp_path, export):
    """export.zip as the Health app writes it: apple_health_export/export.xml (the fixture's)
    beside a clinical-document export, an ECG and a workout route."""
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.write(export, "apple_health_export/export.xml")
        z.writestr("apple_health_export/export_cda.xml", '<?xml version="1.0"?><ClinicalDocument/>')
        z.writestr("apple_health_export/electrocardiograms/ecg_2024-03-05.csv", "Name,Jane\n")
        z.writestr("apple_health_export/workout-routes/route_2024-03-05.gpx", "<gpx/>")
    assert apple_health_reader.zip_members(["ecg.csv", "export.xml", "export_cda.xml"]) == [
        "export.xml"
    ]
    assert apple_health_reader.zip_members(["EDA.csv", "HR.csv"]) is None
    recording = read_recording(archive, "export.zip")
    assert recording.format == "apple_health"
    assert recording.start_time == WORKOUT
    assert recording.extras["sdnn_ms"] == [(600.0, 45.2)]
    assert read_recording(export, "export.xml").duration_s == recording.duration_s


def test_an_export_without_heart_rate_has_no_usable_channel(tmp_path):
    """steps.xml: a day of steps, energy and distance, no heart rate."""
    path = write_export(tmp_path / "export.xml", noise(WORKOUT, 24 * 60))
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "export.xml")
    assert caught.value.code == "no_usable_channel"
    assert caught.value.message == "This Apple Health export holds no heart-rate samples."


def test_heart_rate_every_few_minutes_is_too_sparse(tmp_path, hr):
    """sparse.xml: heart rate every 5 min for a day, as a watch records it outside workouts."""
    records = [heart_rate(WORKOUT + timedelta(minutes=m), 60 + m % 7) for m in range(0, 24 * 60, 5)]
    path = write_export(tmp_path / "export.xml", records)
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "export.xml")
    assert caught.value.code == "rate_too_low"
    assert "about 5 min apart" in caught.value.message
    assert plain(caught.value.message)


def test_a_cut_off_export_is_truncated(tmp_path, export):
    """cut.xml: export.xml's first two thirds."""
    data = export.read_bytes()
    for cut in (len(data) * 2 // 3, data.rindex(b"\n", 0, len(data) * 2 // 3) + 1):
        path = tmp_path / "export.xml"
        path.write_bytes(data[:cut])
        with pytest.raises(RecordingError) as caught:
            read_recording(path, "export.xml")
        assert caught.value.code == "truncated"
        assert caught.value.message.startswith("This Apple Health export ends in the middle")
        assert plain(caught.value.message)


def test_an_xml_file_that_is_not_an_export(tmp_path):
    """export.xml holding a GPX route: an XML file, but no HealthData."""
    path = tmp_path / "export.xml"
    path.write_text('<?xml version="1.0"?>\n<gpx><trk/></gpx>\n')
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "export.xml")
    assert caught.value.code == "unsupported_format"


def test_an_entity_bomb_is_refused(tmp_path):
    """bomb.xml: a DOCTYPE whose entities would expand a billion times ("billion laughs")."""
    entities = '<!ENTITY a0 "xxxxxxxxxx">' + "".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)
    )
    path = tmp_path / "export.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE HealthData [{entities}]>\n'
        '<HealthData locale="en_US">&a9;</HealthData>\n'
    )
    with pytest.raises(RecordingError) as caught:
        read_recording(path, "export.xml")
    assert caught.value.code == "unsupported_format"
    assert plain(caught.value.message)


def test_of_a_two_year_export_only_the_last_day_is_read(tmp_path, hr):
    """years.xml: two years of background heart rate every 30 min and hourly steps, energy
    and distance; a 30 min workout every 30 days (HR every 5 s); in the last three days a 50
    min workout two days before the end, then on the last day a 30 min workout at 08:00 and
    a 10 min one at 19:00. Only the last 24 h of heart rate count: the 30 min workout is read,
    not the longer one before it."""
    end = WORKOUT + timedelta(hours=12)
    first = end - timedelta(days=730)
    records = []
    for day in range(730):
        noon = first + timedelta(days=day)
        records += noise(noon, 24 * 60, every=60)
        records += [heart_rate(noon + timedelta(minutes=m), 62) for m in range(13, 24 * 60, 30)]
        if day % 30 == 0 and day < 720:
            records += workout(noon + timedelta(minutes=7), hr)
    records += workout(WORKOUT - timedelta(days=2), np.resize(hr, 3000))
    records += workout(WORKOUT, hr)
    records += workout(WORKOUT + timedelta(hours=11), hr[:600])
    path = write_export(tmp_path / "export.xml", records, export=end)
    assert path.stat().st_size > 20e6
    recording = read_recording(path, "export.xml")
    assert recording.start_time == WORKOUT
    assert recording.duration_s == 1796
    outside = [
        i for i in recording.ignored if i.endswith("heart-rate samples outside the 29.9 min read")
    ]
    assert len(outside) == 1
    assert recording.extras == {}


def test_of_two_sources_the_one_with_more_samples_is_kept(tmp_path, hr):
    """two-sources.xml: the watch every 5 s and a strap's app every second, 3 bpm higher, over
    the same 30 min: the strap is read, the watch named as left out."""
    records = workout(WORKOUT, hr) + workout(WORKOUT, hr + 3, every=1, source="Polar Beat")
    path = write_export(tmp_path / "export.xml", records)
    recording = read_recording(path, "export.xml")
    np.testing.assert_array_equal(recording.channel("hr").samples, np.round(hr + 3))
    assert f"heart rate from {WATCH} (another source)" in recording.ignored


def test_beat_times_are_clock_times_on_the_records_date():
    """The time formats of InstantaneousBeatsPerMinute (12 and 24 h clocks) and of dates."""
    assert apple_health_reader.clock_seconds("8:00:05.12 AM") == pytest.approx(8 * 3600 + 5.12)
    assert apple_health_reader.clock_seconds("12:00:01.50 AM") == pytest.approx(1.5)
    assert apple_health_reader.clock_seconds("12:30:00 PM") == 12.5 * 3600
    assert apple_health_reader.clock_seconds("1:02:03.5 PM") == pytest.approx(13 * 3600 + 123.5)
    assert apple_health_reader.clock_seconds("20:00:05,25") == pytest.approx(20 * 3600 + 5.25)
    assert apple_health_reader.clock_seconds("soon") is None
    when, offset = apple_health_reader.parse_date("2024-03-05 08:00:03 +0100")
    assert (when, offset) == (WORKOUT.timestamp(), 60)
    assert apple_health_reader.parse_date("2024-03-05 08:00:03 -0530")[1] == -330


def test_an_hrv_reading_across_midnight(tmp_path, hr):
    """midnight.xml: an HRV reading from 23:59:40 whose beats run past midnight (their clock
    times restart at 12:00 AM), inside two minutes of heart rate every 5 s."""
    start = datetime(2024, 3, 5, 23, 59, 0, tzinfo=ZONE)
    reading = start + timedelta(seconds=40)
    records = workout(start, hr[:120])
    records.append(hrv(reading, 38.0, beats_of(reading, hr[40:], 60.0)))
    recording = read_recording(write_export(tmp_path / "export.xml", records), "export.xml")
    assert recording.start_time == start
    assert recording.duration_s == 116
    assert recording.extras["sdnn_ms"] == [(40.0, 38.0)]
