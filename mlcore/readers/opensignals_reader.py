"""OpenSignals recordings (PLUX biosignalsplux and BITalino): the `.txt` and `.h5` exports.

- `.txt`: `#` lines, the second one a description of each device (keyed by its MAC address:
  sensors, labels, columns, sampling rate, resolution, date, time), `# EndOfHeader`, then one
  tab-separated row of raw ADC integers per sample. Several devices recorded together sit side
  by side in each row, in the order the header lists them.
- `.h5`: one HDF5 group per device (its MAC address) whose attributes hold the same
  description; the samples are in `raw` (`channel_<n>` with `sensor` and `label` attributes,
  `nSeq`), the digital inputs in `digital`.

Samples are raw ADC counts: each sensor's transfer function (from PLUX's data sheets, cited
at each one below) turns them into units, per device family (biosignalsplux at 3 V, BITalino
at 3.3 V) and sensor. A sensor we have no transfer function for (raw, temperature, light,
EEG, SpO2...), or a device outside these families, is listed in `ignored`: we never score raw
counts. Channels are named by what they measure ("ECG" mV, "EDA" uS, "RESP" %, "EMG" mV,
"BVP" relative intensity, "ACC" g: the magnitude of a 3-axis accelerometer); a second one of
the same kind is "ECG 2", and so on.

The sample counter (`nSeq`) shows samples lost on the way from the device (Bluetooth
drop-outs): they become NaN, so that what follows keeps its time. The start is the header's
date and time, the acquisition computer's clock (a naive datetime). An `.h5` keeps each
device's own start: a device that started later gets an offset.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from mlcore.recordings.recording import Recording, RecordingError, build_recording

FORMAT = "opensignals"

TXT_MAGIC = re.compile(rb"^(?:\xef\xbb\xbf)?#\s*OpenSignals Text File Format")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
MAC_ADDRESS = re.compile(rb"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
MAX_HEADER_LINE = 4 * 1024 * 1024
TXT_BLOCK_ROWS = 200_000


def sniff(head: bytes, name: str) -> bool:
    """An OpenSignals text file by its first line; an OpenSignals .h5 by the HDF5 signature
    and a device group (a MAC address, or the `device name` attribute) near the start."""
    if TXT_MAGIC.match(head):
        return True
    return head.startswith(HDF5_MAGIC) and (
        b"device name" in head or MAC_ADDRESS.search(head) is not None
    )


# ---------------------------------------------------------------------------------------------
# Transfer functions: raw ADC counts (0 .. 2^n - 1, n the channel's resolution in bits) to
# units. Every one is the form PLUX publishes, written here from the documents cited.
#
# General form and parameters, both families: PLUX knowledge base, "Transfer Functions:
# Converting digital sensor data into physical units" (support.pluxbiosignals.com, 2022),
# which also gives the biosignalsplux ECG parameters: VCC = 3 V, G_ECG = 1019.

PLUX_VCC = 3.0  # biosignalsplux operating voltage (knowledge base above; every sensor sheet)
BITALINO_VCC = 3.3  # BITalino operating voltage (BITalino ECG data sheet, "TRANSFER FUNCTION")


def _fraction(adc: np.ndarray, bits: int) -> np.ndarray:
    return adc / float(2**bits)


def _biopotential_mv(vcc: float, gain: float) -> Callable[[np.ndarray, int], np.ndarray]:
    """ECG and EMG: V = (ADC / 2^n - 1/2) * VCC / G, times 1000 for mV."""

    def convert(adc: np.ndarray, bits: int) -> np.ndarray:
        return (_fraction(adc, bits) - 0.5) * vcc / gain * 1000.0

    return convert


def _displacement_percent(adc: np.ndarray, bits: int) -> np.ndarray:
    """Respiration, piezoelectric (PZT) or inductive (RIP) band: % of full scale,
    (ADC / 2^n - 1/2) * 100, within [-50 %, 50 %]. PLUX "Respiration (PZT) Sensor Data Sheet"
    (BITalino, PZT 151015, page 2) and "Inductive Respiration (RIP) Sensor Data Sheet"
    (biosignalsplux RIP1, page 2): the same function for both families."""
    return (_fraction(adc, bits) - 0.5) * 100.0


def _plux_eda_us(adc: np.ndarray, bits: int) -> np.ndarray:
    """biosignalsplux EDA: uS = (ADC / 2^n) * VCC / 0.12 (0-25 uS at 3 V). PLUX
    "Electrodermal Activity (EDA) Sensor" user manual for biosignalsplux, transfer function;
    PLUX's biosignalsnotebooks converts with the same constant. (The 2015 data sheet, EDA
    15102015, gave a 0-13 uS range: an older sensor revision may read about half of this.)"""
    return _fraction(adc, bits) * PLUX_VCC / 0.12


def _bitalino_rev_eda_us(adc: np.ndarray, bits: int) -> np.ndarray:
    """BITalino (r)evolution EDA: uS = (ADC / 2^n) * VCC / 0.132 (0-25 uS at 3.3 V). PLUX
    "Electrodermal Activity (EDA) User Manual" for BITalino (v1.0, 2020), section 1.6
    "Transfer Function (Conversion Formula)"; the range in its section 1.3."""
    return _fraction(adc, bits) * BITALINO_VCC / 0.132


def _bitalino_board_eda_us(adc: np.ndarray, bits: int) -> np.ndarray:
    """The first BITalino board's EDA sensor measures resistance: R(MOhm) = 1 - ADC / 2^n and
    uS = 1 / R. PLUX, "Converting BITalino's Output Values into their Real Units" (BITalino
    forum, 2014). R > 0: counts are checked to be below 2^n before any conversion."""
    return 1.0 / (1.0 - _fraction(adc, bits))


def _bvp_relative(adc: np.ndarray, bits: int) -> np.ndarray:
    """biosignalsplux BVP: relative intensity, ADC / 2^n. PLUX notebook "BVP Sensor - Unit
    Conversion" (biosignalsnotebooks), from the "Blood Volume Pulse (BVP) Sensor" data sheet."""
    return _fraction(adc, bits)


# biosignalsplux accelerometer: g = (ADC - Cmin) / (Cmax - Cmin) * 2 - 1 (PLUX "Accelerometer
# (ACC) Sensor" data sheet / user manual, transfer function). Cmin and Cmax are each sensor's
# calibration (the raw values at -1 g and +1 g), which OpenSignals files do not carry; we use
# the nominal pair for 16-bit channels that PLUX's own biosignalsnotebooks uses when none is
# given, 28000 and 38000 (a channel at fewer bits is scaled up to 16 first). On the real
# recordings in mlcore/tests/readers/data/opensignals a still sensor reads 0.99 g with it.
PLUX_ACC_CMIN_16 = 28000.0
PLUX_ACC_CMAX_16 = 38000.0


def _plux_acc_g(adc: np.ndarray, bits: int) -> np.ndarray:
    counts16 = adc * float(2 ** (16 - bits))
    return (counts16 - PLUX_ACC_CMIN_16) / (PLUX_ACC_CMAX_16 - PLUX_ACC_CMIN_16) * 2.0 - 1.0


# (family, kind) -> transfer function. Kinds: what a sensor measures (SENSOR_KINDS).
TRANSFER: dict[tuple[str, str], Callable[[np.ndarray, int], np.ndarray]] = {
    # biosignalsplux ECG: G = 1019 (knowledge base above; an earlier data sheet gave 1000).
    ("plux", "ecg"): _biopotential_mv(PLUX_VCC, 1019.0),
    # biosignalsplux EMG: G = 1000. PLUX "Electromyography (EMG) Sensor" data sheet and the
    # notebook "EMG Sensor - Unit Conversion".
    ("plux", "emg"): _biopotential_mv(PLUX_VCC, 1000.0),
    ("plux", "eda"): _plux_eda_us,
    ("plux", "resp"): _displacement_percent,
    ("plux", "bvp"): _bvp_relative,
    ("plux", "acc"): _plux_acc_g,
    # BITalino (r)evolution ECG: G = 1100 ("Electrocardiography (ECG) Sensor Data Sheet" for
    # BITalino, page 2: [-1.5 mV, 1.5 mV]).
    ("bitalino_rev", "ecg"): _biopotential_mv(BITALINO_VCC, 1100.0),
    # BITalino (r)evolution EMG: G = 1009, the gain behind the range the BITalino EMG sheet
    # states, [-1.64 mV, 1.64 mV] = VCC / 2 / 1009 (PLUX's biosignalsnotebooks uses it too).
    ("bitalino_rev", "emg"): _biopotential_mv(BITALINO_VCC, 1009.0),
    ("bitalino_rev", "eda"): _bitalino_rev_eda_us,
    ("bitalino_rev", "resp"): _displacement_percent,
    # The first BITalino board (2014 forum post above): ECG G = 1100, EMG G = 1000.
    ("bitalino", "ecg"): _biopotential_mv(BITALINO_VCC, 1100.0),
    ("bitalino", "emg"): _biopotential_mv(BITALINO_VCC, 1000.0),
    ("bitalino", "eda"): _bitalino_board_eda_us,
    ("bitalino", "resp"): _displacement_percent,
}
# Not converted, so ignored: BITalino accelerometers (their calibration is per board and
# nothing in the file gives it), BITalino pulse sensors, light, temperature, EEG, SpO2,
# goniometers, force platforms, "cACC" and "RAW" channels.

# The sensor names OpenSignals writes -> kind. BITalino (r)evolution variants carry a
# "BITREV" suffix (EDABITREV).
SENSOR_KINDS = {
    "ECG": "ecg",
    "EMG": "emg",
    "EDA": "eda",
    "RESPIRATION": "resp",
    "RESP": "resp",
    "PZT": "resp",
    "RIP": "resp",
    "BVP": "bvp",
    "XYZ": "acc",
    "ACC": "acc",
}
KIND_NAMES = {
    "ecg": ("ECG", "mV"),
    "emg": ("EMG", "mV"),
    "eda": ("EDA", "uS"),
    "resp": ("RESP", "%"),
    "bvp": ("BVP", "r.i."),
    "acc": ("ACC", "g"),
}


def device_family(model: str) -> str | None:
    """The transfer-function family of a device as the header names it, or None."""
    model = model.strip().lower()
    if model.startswith("biosignalsplux") or model == "channeller":
        return "plux"  # the channeller is a port hub of a biosignalsplux
    if model == "bitalino_rev":
        return "bitalino_rev"
    if model == "bitalino":
        return "bitalino"
    return None


def sensor_kind(sensor: str) -> str | None:
    name = sensor.strip().upper()
    if name.endswith("BITREV"):
        name = name[: -len("BITREV")]
    return SENSOR_KINDS.get(name)


def transfer_function(
    family: str | None, sensor: str
) -> Callable[[np.ndarray, int], np.ndarray] | None:
    kind = sensor_kind(sensor)
    if family is None or kind is None:
        return None
    if kind == "eda" and family == "bitalino" and sensor.strip().upper().endswith("BITREV"):
        return _bitalino_rev_eda_us  # the (r)evolution EDA sensor on the first board
    return TRANSFER.get((family, kind))


# ---------------------------------------------------------------------------------------------
# What both file kinds give: devices, each with its analog channels as raw counts.


@dataclass
class Analog:
    sensor: str
    label: str
    bits: int | None
    raw: np.ndarray | None = None  # float64 counts, NaN where missing

    @property
    def description(self) -> str:
        return self.describe(None)

    def describe(self, device_number: int | None) -> str:
        """'RAW (CH1)'; in a file of several devices, 'RAW (CH1, device 2)'."""
        where = [part for part in (self.label, device_number and f"device {device_number}") if part]
        return f"{self.sensor} ({', '.join(where)})" if where else self.sensor


@dataclass
class Device:
    key: str
    model: str
    rate_hz: float
    start: datetime | None
    analog: list[Analog] = field(default_factory=list)
    others: list[str] = field(default_factory=list)  # nSeq, digital inputs and outputs
    offset_s: float = 0.0

    @property
    def family(self) -> str | None:
        return device_family(self.model)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    return "" if value is None else str(value)


def _list(value: object) -> list:
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return value.reshape(-1).tolist()
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


TIME = re.compile(r"^\s*(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?\s*$")
DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def parse_start(date: object, time: object) -> datetime | None:
    """'2019-3-11' and '10:45:4.388' -> a naive datetime; None if either is missing or odd.

    OpenSignals writes the fields without zero padding, milliseconds included: '13:28:24.56'
    is 56 ms past the second (the same recording's .txt and .h5, written a fraction of a second
    apart, agree only read that way). A longer fraction is read as a decimal fraction."""
    day = DATE.match(_text(date))
    clock = TIME.match(_text(time))
    if day is None or clock is None:
        return None
    fraction = clock.group(4) or "0"
    micro = int(fraction) * 1000 if len(fraction) <= 3 else round(float(f"0.{fraction}") * 1e6)
    try:
        return datetime(
            int(day.group(1)),
            int(day.group(2)),
            int(day.group(3)),
            int(clock.group(1)),
            int(clock.group(2)),
            int(clock.group(3)),
            min(micro, 999_999),
        )
    except ValueError:
        return None


def _rate(description: dict, key: str) -> float:
    try:
        rate = float(description["sampling rate"])
    except (KeyError, TypeError, ValueError) as error:
        raise RecordingError(
            "unsupported_format",
            f"The OpenSignals header gives no sampling rate for device {key}.",
        ) from error
    if not np.isfinite(rate) or rate <= 0:
        raise RecordingError(
            "bad_value", f"The OpenSignals header gives device {key} a sampling rate of {rate:g}."
        )
    return rate


def _analog_bits(resolution: list, n_analog: int) -> list[int | None]:
    """Resolutions of the analog channels: biosignalsplux lists one per analog channel, BITalino
    one per column (the counter and digital ones first), so the analog ones are the last."""
    values = [int(v) for v in resolution if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(values) < n_analog:
        return [values[0] if len(values) == 1 else None] * n_analog
    return values[len(values) - n_analog :] if n_analog else []


def _too_long(seconds: float, max_duration_s: float) -> None:
    if seconds > max_duration_s:
        raise RecordingError(
            "too_long",
            f"The recording lasts {seconds / 3600:.1f} h; at most "
            f"{max_duration_s / 3600:g} h can be scored.",
        )


# ---------------------------------------------------------------------------------------------
# The sample counter.

COUNTER_MODULI = (1 << 4, 1 << 16, 1 << 32)  # BITalino counts 0-15; PLUX 16 bits (.h5) or more


def counter_positions(counter: np.ndarray, rate_hz: float) -> np.ndarray | None:
    """Where each sample belongs on the device's sample grid, from its counter (which wraps
    around), or None when no sample was lost (or the counter cannot tell)."""
    if counter.size < 2 or not np.isfinite(counter).all():
        return None
    values = counter.astype(np.int64)
    if values.min() < 0:
        return None
    top = int(values.max())
    modulus = next((m for m in COUNTER_MODULI if top < m), None)
    if modulus is None:
        return None
    steps = np.diff(values) % modulus
    # An .h5 stores the counter in 16 bits and it sticks at 65535 once the count passes it
    # (the real supine_1min.h5 does): from there on it tells nothing, the order is trusted.
    stuck = (values[1:] == modulus - 1) & (values[:-1] == modulus - 1)
    steps[stuck] = 1
    if (steps == 1).all():
        return None
    repeated = np.flatnonzero(steps == 0)
    if repeated.size:
        at = int(repeated[0]) + 1
        raise RecordingError(
            "irregular_time",
            f"The sample counter (nSeq) repeats at sample {at + 1} ({at / rate_hz:.2f} s): "
            "samples are duplicated or out of order.",
        )
    positions = np.concatenate(([0], np.cumsum(steps)))
    if positions[-1] + 1 > 2 * counter.size + 1000:
        raise RecordingError(
            "irregular_time",
            "The sample counter (nSeq) jumps by more than the recording holds: more than half "
            "of the samples would be missing.",
        )
    return positions


def _place(raw: np.ndarray, positions: np.ndarray | None) -> np.ndarray:
    if positions is None or positions.size != raw.size:
        return raw
    out = np.full(int(positions[-1]) + 1, np.nan)
    out[positions] = raw
    return out


# ---------------------------------------------------------------------------------------------
# .txt


def _txt_header(path: Path) -> tuple[dict, int]:
    """The device descriptions and the byte offset where the samples start."""
    lines: list[bytes] = []
    offset = 0
    with open(path, "rb") as handle:
        while True:
            line = handle.readline(MAX_HEADER_LINE)
            if not line:
                raise RecordingError(
                    "truncated",
                    "The OpenSignals file ends inside its header (no '# EndOfHeader' line): "
                    "it looks cut short. Upload the whole file.",
                )
            if len(line) >= MAX_HEADER_LINE:
                raise RecordingError("unsupported_format", "The OpenSignals header is too long.")
            offset += len(line)
            if not line.lstrip(b"\xef\xbb\xbf").startswith(b"#"):
                raise RecordingError(
                    "unsupported_format",
                    "The OpenSignals header is incomplete: samples start before '# EndOfHeader'.",
                )
            text = line.lstrip(b"\xef\xbb\xbf")[1:].strip()
            if text == b"EndOfHeader":
                break
            lines.append(text)
    described = [line for line in lines if line.startswith(b"{")]
    if not described:
        raise RecordingError(
            "unsupported_format", "The OpenSignals header does not describe any device."
        )
    try:
        devices = json.loads(described[0].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise RecordingError(
            "unsupported_format",
            "The OpenSignals header cannot be read: its device description is malformed.",
        ) from error
    if not isinstance(devices, dict) or not devices:
        raise RecordingError(
            "unsupported_format", "The OpenSignals header does not describe any device."
        )
    return devices, offset


def _count_rows(path: Path, offset: int) -> tuple[int, bool]:
    """Complete sample lines after the header, and whether a last line lacks its line end
    (a file cut off mid-line: that line is dropped)."""
    newlines = 0
    last = b"\n"
    with open(path, "rb") as handle:
        handle.seek(offset)
        while block := handle.read(1 << 20):
            newlines += block.count(b"\n")
            last = block[-1:]
    return newlines, last != b"\n"


def _read_columns(path: Path, offset: int, columns: list[int], rows: int) -> list[np.ndarray]:
    """The given columns (0-based) of the first `rows` sample lines, as float64 (NaN where a
    cell is empty or not a number)."""
    import pandas as pd

    if not columns:
        return []
    data = [np.full(rows, np.nan) for _ in columns]
    order = sorted(set(columns))
    with open(path, "rb") as handle:
        handle.seek(offset)
        filled = 0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pd.errors.DtypeWarning)
                reader = pd.read_csv(
                    handle,
                    sep="\t",
                    header=None,
                    comment="#",
                    usecols=order,
                    skip_blank_lines=True,
                    chunksize=TXT_BLOCK_ROWS,
                )
                for chunk in reader:
                    size = min(chunk.shape[0], rows - filled)
                    if size <= 0:
                        break
                    for target, column in zip(data, columns, strict=True):
                        values = chunk[column].iloc[:size]
                        if not pd.api.types.is_numeric_dtype(values):
                            values = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
                        target[filled : filled + size] = values.to_numpy(dtype=np.float64)
                    filled += size
        except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as error:
            raise RecordingError(
                "unsupported_format",
                "The samples of this OpenSignals file do not match the columns its header lists.",
            ) from error
    return [column[:filled] for column in data]


def _trim_trailing_missing(arrays: list[np.ndarray]) -> int:
    """Rows up to the last one where any of these columns holds a value (a device that stopped
    before the others leaves empty cells behind)."""
    if not arrays:
        return 0
    present = np.zeros(arrays[0].shape[0], dtype=bool)
    for array in arrays:
        present |= np.isfinite(array)
    found = np.flatnonzero(present)
    return int(found[-1]) + 1 if found.size else 0


def _txt_devices(path: Path, max_duration_s: float) -> list[Device]:
    described, offset = _txt_header(path)
    devices: list[Device] = []
    plans: list[tuple[Device, int | None, list[int]]] = []  # device, nSeq column, analog columns
    first = 0
    for key, description in described.items():
        if not isinstance(description, dict):
            raise RecordingError(
                "unsupported_format", f"The OpenSignals header's entry for {key} is not a device."
            )
        if description.get("convertedValues") not in (None, 0, False, "0"):
            raise RecordingError(
                "unsupported_format",
                "This OpenSignals file holds values already converted to units; export the "
                "recording with raw values (the OpenSignals default) to read it.",
            )
        columns = [_text(c) for c in _list(description.get("column"))]
        labels = [_text(c) for c in _list(description.get("label"))]
        sensors = [_text(c) for c in _list(description.get("sensor"))]
        if not columns:
            raise RecordingError(
                "unsupported_format", f"The OpenSignals header lists no columns for device {key}."
            )
        n_analog = min(len(labels), len(sensors), len(columns))
        bits = _analog_bits(_list(description.get("resolution")), n_analog)
        analog_at = []
        for i in range(n_analog):
            label = labels[i]
            tail = len(columns) - n_analog + i
            analog_at.append(columns.index(label) if label in columns else tail)
        device = Device(
            key=str(key),
            model=_text(description.get("device")),
            rate_hz=_rate(description, str(key)),
            start=parse_start(description.get("date"), description.get("time")),
            analog=[Analog(sensors[i], labels[i], bits[i]) for i in range(n_analog)],
            others=[c for j, c in enumerate(columns) if j not in analog_at],
        )
        counter = columns.index("nSeq") if "nSeq" in columns else None
        plans.append(
            (
                device,
                None if counter is None else first + counter,
                [first + j for j in analog_at],
            )
        )
        devices.append(device)
        first += len(columns)
    rates = list(dict.fromkeys(device.rate_hz for device in devices))  # in the header's order
    if len(rates) > 1:
        shown = " and ".join(f"{rate:g} Hz" for rate in rates)
        raise RecordingError(
            "unsupported_format",
            f"The devices in this OpenSignals text file record at different rates ({shown}); "
            "export the recording as .h5 to read it.",
        )
    rows, cut = _count_rows(path, offset)
    if rows == 0:
        raise RecordingError(
            "truncated" if cut else "empty",
            "The OpenSignals file has a header but no samples.",
        )
    _too_long(rows / rates[0], max_duration_s)
    # Only the counters and the channels we convert are parsed: the others stay on disk.
    wanted: list[int] = []
    for device, counter, analog in plans:
        if counter is not None:
            wanted.append(counter)
        wanted.extend(
            column
            for channel, column in zip(device.analog, analog, strict=True)
            if transfer_function(device.family, channel.sensor) is not None
        )
    read = dict(zip(wanted, _read_columns(path, offset, wanted, rows), strict=True))
    if read and all(values.size == 0 for values in read.values()):
        raise RecordingError("empty", "The OpenSignals file has a header but no samples.")
    for device, counter, analog in plans:
        mine = [read[j] for j in ([counter] if counter is not None else []) + analog if j in read]
        keep = _trim_trailing_missing(mine)
        positions = None
        if counter is not None:
            positions = counter_positions(read[counter][:keep], device.rate_hz)
        for channel, column in zip(device.analog, analog, strict=True):
            if column in read:
                channel.raw = _place(read[column][:keep], positions)
    return devices


# ---------------------------------------------------------------------------------------------
# .h5


def _h5_damaged(error: Exception) -> RecordingError:
    if "truncated" in str(error).lower():
        return RecordingError(
            "truncated",
            "The OpenSignals .h5 file is cut short (it is smaller than its own header says): "
            "upload the whole file.",
        )
    return RecordingError(
        "unsupported_format", "The OpenSignals .h5 file is damaged: its contents cannot be read."
    )


def _h5_samples(dataset) -> np.ndarray:
    try:
        values = dataset[()]
    except (OSError, RuntimeError, ValueError) as error:
        raise RecordingError(
            "truncated",
            "The OpenSignals .h5 file is damaged or cut short: its samples cannot be read.",
        ) from error
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _h5_devices(path: Path, max_duration_s: float) -> list[Device]:
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise _h5_damaged(error) from error
    try:
        with handle:
            devices = _h5_groups(handle, max_duration_s)
    except OSError as error:
        raise _h5_damaged(error) from error
    if not devices:
        raise RecordingError(
            "unsupported_format", "The .h5 file holds no OpenSignals device recording."
        )
    starts = [device.start for device in devices]
    if all(start is not None for start in starts):
        first = min(starts)
        for device in devices:
            device.offset_s = (device.start - first).total_seconds()
    return devices


def _h5_groups(handle, max_duration_s: float) -> list[Device]:
    import h5py

    devices: list[Device] = []
    for key in handle:
        group = handle.get(key)
        if not isinstance(group, h5py.Group) or "sampling rate" not in group.attrs:
            continue
        attrs = group.attrs
        raw = group.get("raw")
        if not isinstance(raw, h5py.Group):
            raise RecordingError(
                "unsupported_format", f"The OpenSignals .h5 file has no samples for {key}."
            )
        description = {"sampling rate": _text(attrs.get("sampling rate"))}
        rate = _rate(description, str(key))
        numbered = []
        for name in raw:
            match = re.fullmatch(r"channel_(\d+)", name)
            if match and isinstance(raw[name], h5py.Dataset):
                numbered.append((int(match.group(1)), name))
        numbered.sort()
        channel_numbers = [int(v) for v in _list(attrs.get("channels"))]
        bits_of = dict(
            zip(
                channel_numbers,
                _analog_bits(_list(attrs.get("resolution")), len(channel_numbers)),
                strict=True,
            )
        )
        device = Device(
            key=str(key),
            model=_text(attrs.get("device")),
            rate_hz=rate,
            start=parse_start(attrs.get("date"), attrs.get("time")),
        )
        lengths = []
        for number, name in numbered:
            dataset = raw[name]
            lengths.append(dataset.shape[0] if dataset.shape else 0)
            device.analog.append(
                Analog(
                    sensor=_text(dataset.attrs.get("sensor")) or "RAW",
                    label=_text(dataset.attrs.get("label")) or f"CH{number}",
                    bits=bits_of.get(number),
                )
            )
        _too_long(max(lengths, default=0) / rate, max_duration_s)
        counter = raw.get("nSeq")
        if counter is not None:
            device.others.append("nSeq")
        digital = group.get("digital")
        if isinstance(digital, h5py.Group):
            device.others.extend(name for name in digital)
        positions = None
        if isinstance(counter, h5py.Dataset):
            positions = counter_positions(_h5_samples(counter), rate)
        for (_, name), channel in zip(numbered, device.analog, strict=True):
            # Reading only what is converted: a channel without a transfer function stays
            # on disk.
            if transfer_function(device.family, channel.sensor) is not None:
                channel.raw = _place(_h5_samples(raw[name]), positions)
        devices.append(device)
    return devices


# ---------------------------------------------------------------------------------------------
# Devices -> channels with units.


def _convert(device: Device, channel: Analog) -> np.ndarray | None:
    function = transfer_function(device.family, channel.sensor)
    if function is None or channel.raw is None or channel.bits is None:
        return None
    raw = channel.raw
    finite = raw[np.isfinite(raw)]
    top = 2**channel.bits
    if finite.size and (finite.min() < 0 or finite.max() >= top):
        raise RecordingError(
            "bad_value",
            f"{channel.description} holds values outside its {channel.bits}-bit range "
            f"(0 to {top - 1}): the file may hold converted values rather than raw samples.",
        )
    return function(raw, channel.bits)


@dataclass
class Channels:
    """What a file holds, before validation: (name, unit, rate, samples, offset) as
    build_recording takes them, what was not converted, and the start."""

    named: list[tuple[str, str, float, np.ndarray, float]]
    ignored: list[str]
    start_time: datetime | None
    devices: list[Device]


def read_channels(path: Path, *, max_duration_s: float) -> Channels:
    """Read and convert without validating (read() validates); for inspection and tests."""
    with open(path, "rb") as handle:
        head = handle.read(len(HDF5_MAGIC))
    if head.startswith(HDF5_MAGIC):
        devices = _h5_devices(path, max_duration_s)
    else:
        devices = _txt_devices(path, max_duration_s)
    named: list[tuple[str, str, float, np.ndarray, float]] = []
    ignored: list[str] = []
    counts: dict[str, int] = {}

    def add(kind: str, samples: np.ndarray, device: Device) -> None:
        base, unit = KIND_NAMES[kind]
        counts[base] = counts.get(base, 0) + 1
        name = base if counts[base] == 1 else f"{base} {counts[base]}"
        named.append((name, unit, device.rate_hz, samples, device.offset_s))

    for number, device in enumerate(devices, start=1):
        axes: list[tuple[Analog, np.ndarray]] = []
        for channel in device.analog:
            converted = _convert(device, channel)
            if converted is None:
                ignored.append(channel.describe(number if len(devices) > 1 else None))
            elif sensor_kind(channel.sensor) == "acc":
                axes.append((channel, converted))
            else:
                add(sensor_kind(channel.sensor), converted, device)
        if len(axes) == 1:
            add("acc", axes[0][1], device)  # a single axis: as it is
        elif axes and len(axes) % 3 == 0:
            for i in range(0, len(axes), 3):
                x, y, z = (axis for _, axis in axes[i : i + 3])
                add("acc", np.sqrt(x * x + y * y + z * z), device)
        else:
            ignored.extend(
                channel.describe(number if len(devices) > 1 else None) for channel, _ in axes
            )
        for other in device.others:
            if other not in ignored:
                ignored.append(other)
    starts = [device.start for device in devices if device.start is not None]
    start = min(starts) if len(starts) == len(devices) else (starts[0] if starts else None)
    return Channels(named=named, ignored=ignored, start_time=start, devices=devices)


def read(path: Path, *, max_duration_s: float) -> Recording:
    channels = read_channels(path, max_duration_s=max_duration_s)
    return build_recording(
        channels.named,
        start_time=channels.start_time,
        format=FORMAT,
        max_duration_s=max_duration_s,
        ignored=channels.ignored,
    )
