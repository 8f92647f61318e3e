"""A person's stress results as standard health data: an HL7 FHIR R4 Bundle, and Open mHealth
data points for heart rate and RR-interval variability.

Pure functions: plain dicts in (one per result, see `fhir_bundle`), JSON-ready dicts out. No
database, no Django models, no internal feature codes: only the fields named below are read, so
whatever else a caller's dict holds (model inputs, contributions) never reaches the output.

Ids are stable: every id and fullUrl is a UUID 5 of `base_url` and the result's id (or the
recording's id), so exporting the same results twice gives the same document.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

LEVELS: dict[str, str] = {"low": "Low stress", "medium": "Medium stress", "high": "High stress"}
KINDS = ("reading", "window")

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PROFILE = "http://hl7.org/fhir/StructureDefinition/"

# The stress estimate's category. None of the FHIR observation-category codes is exact: it is
# not a questionnaire (survey), an exam or a vital sign. "activity" is the code for wellness
# measures from a person's own device outside a practitioner's supervision (its examples
# include sleep data), which is what a wearable's stress estimate is.
STRESS_CATEGORY = ("activity", "Activity")
VITAL_SIGNS_CATEGORY = ("vital-signs", "Vital Signs")


# A vital sign: input field, path segment for its id, LOINC code and display, UCUM code and
# human unit, and the FHIR R4 profile it conforms to (heart rate and respiratory rate have their
# own; SDNN only the generic vital-signs profile).
VITALS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    ("heart_rate_bpm", "heart-rate", "8867-4", "Heart rate", "/min", "beats/minute", "heartrate"),
    (
        "respiratory_rate",
        "respiratory-rate",
        "9279-1",
        "Respiratory rate",
        "/min",
        "breaths/minute",
        "resprate",
    ),
    (
        "sdnn_ms",
        "sdnn",
        "80404-7",
        "R-R interval.standard deviation (Heart rate variability)",
        "ms",
        "ms",
        "vitalsigns",
    ),
)

# The header schema the data points follow (a data point names only its body's schema).
OMH_HEADER_SCHEMA = ("omh", "header", "1.2")
OMH_HEART_RATE = ("omh", "heart-rate", "2.0")
OMH_RR_INTERVAL = ("omh", "rr-interval", "2.0")
DEFAULT_SOURCE_NAME = "stressapp"


# --- shared ---------------------------------------------------------------------------------


def _base(base_url: str) -> str:
    base = base_url.rstrip("/")
    if not base:
        raise ValueError("base_url is required")
    return base


def _uuid(base: str, *parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join([base, *(str(p) for p in parts)])))


def _instant(value: Any, field: str) -> str:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{field} must be a timezone-aware datetime, got {value!r}")
    # The offset the time was taken in is kept; UTC is written "Z", as FHIR tools write it.
    text = value.isoformat()
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text


def _result(item: Mapping[str, Any]) -> dict[str, Any]:
    """The fields this module reads, checked; nothing else of the caller's dict is kept."""
    kind = item["kind"]
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    level = item["stress_level"]
    if level not in LEVELS:
        raise ValueError(f"stress_level must be one of {tuple(LEVELS)}, got {level!r}")
    ends_at = item.get("ends_at")
    return {
        "id": int(item["id"]),
        "kind": kind,
        "start": _instant(item["measured_at"], "measured_at"),
        "end": _instant(ends_at, "ends_at") if ends_at is not None else None,
        "created": (_instant(item["created_at"], "created_at") if item.get("created_at") else None),
        "level": level,
        "confidence": _number(item["confidence"], "confidence"),
        "probabilities": {
            k: _number(item["probabilities"][k], f"probabilities.{k}") for k in LEVELS
        },
        "score": None if item.get("score") is None else _number(item["score"], "score"),
        "model_version": _model_version(item["model_version"]),
        "recording_id": None if item.get("recording_id") is None else str(item["recording_id"]),
        **{field: _optional_float(item.get(field)) for field, *_ in VITALS},
    }


def _model_version(value: Any) -> str:
    """The version as a FHIR code: no leading, trailing or repeated whitespace."""
    version = " ".join(str(value).split())
    if not version:
        raise ValueError("model_version is required")
    return version


def _number(value: Any, field: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{field} must be a finite number, got {value!r}")
    return number


def _optional_float(value: Any) -> float | None:
    """A measured value, or None when absent; a NaN (a channel without enough valid signal) is
    absent too, never a number."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


# --- FHIR R4 --------------------------------------------------------------------------------


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _effective(result: dict[str, Any]) -> dict[str, Any]:
    if result["kind"] == "window":
        period = {"start": result["start"]}
        if result["end"] is not None:
            period["end"] = result["end"]
        return {"effectivePeriod": period}
    return {"effectiveDateTime": result["start"]}


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _recording_document(
    base: str, recording_id: str, subject: dict[str, str] | None
) -> dict[str, Any]:
    """The recording the windows were scored from, as a DocumentReference in the bundle (its
    file stays in the app: the attachment names it, holds no data and no link)."""
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": _uuid(base, "recording", recording_id),
        "identifier": [{"system": f"{base}/fhir/identifier/recording", "value": recording_id}],
        "status": "current",
        "type": {"text": "Physiological signal recording"},
    }
    if subject:
        document["subject"] = dict(subject)
    document["content"] = [{"attachment": {"title": "Physiological signal recording"}}]
    return document


def _vital_observations(
    base: str, result: dict[str, Any], subject: dict[str, str] | None, derived: list[dict]
) -> list[dict[str, Any]]:
    observations = []
    for field, slug, loinc, display, ucum, unit, profile in VITALS:
        value = result[field]
        if value is None:
            continue
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": _uuid(base, "stress-result", result["id"], slug),
        }
        if subject:
            # The vital-signs profiles require a subject: claimed only when there is one.
            observation["meta"] = {"profile": [PROFILE + profile]}
        observation["status"] = "final"
        observation["category"] = [_coding(OBSERVATION_CATEGORY, *VITAL_SIGNS_CATEGORY)]
        observation["code"] = _coding(LOINC, loinc, display)
        if subject:
            observation["subject"] = dict(subject)
        observation.update(_effective(result))
        observation["valueQuantity"] = _quantity(value, unit, ucum)
        if derived:
            observation["derivedFrom"] = [dict(reference) for reference in derived]
        observations.append(observation)
    return observations


def _stress_observation(
    base: str, result: dict[str, Any], subject: dict[str, str] | None, derived: list[dict]
) -> dict[str, Any]:
    local = f"{base}/fhir/CodeSystem/stress-observation"
    components = [
        ("confidence", "Confidence of the estimate", _quantity(result["confidence"], "1", "1")),
    ]
    if result["score"] is not None:
        score = _quantity(result["score"], "score", "{score}")
        components.append(("score", "Stress score (0-100)", score))
    for level, probability in result["probabilities"].items():
        quantity = _quantity(probability, "1", "1")
        components.append((f"probability-{level}", f"Probability of {level} stress", quantity))
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": _uuid(base, "stress-result", result["id"]),
        "identifier": [
            {"system": f"{base}/fhir/identifier/stress-result", "value": str(result["id"])}
        ],
        "status": "final",
        "category": [_coding(OBSERVATION_CATEGORY, *STRESS_CATEGORY)],
        "code": _coding(local, "stress-level", "Stress level (model estimate)"),
    }
    if subject:
        observation["subject"] = dict(subject)
    observation.update(_effective(result))
    observation["valueCodeableConcept"] = _coding(
        f"{base}/fhir/CodeSystem/stress-level", result["level"], LEVELS[result["level"]]
    )
    observation["method"] = _coding(
        f"{base}/fhir/CodeSystem/stress-model",
        result["model_version"],
        f"Stress model {result['model_version']}",
    )
    if derived:
        observation["derivedFrom"] = derived
    observation["component"] = [
        {"code": _coding(local, code, display), "valueQuantity": quantity}
        for code, display, quantity in components
    ]
    return observation


def fhir_bundle(
    observations: Iterable[Mapping[str, Any]], *, patient_reference: str | None, base_url: str
) -> dict[str, Any]:
    """An HL7 FHIR R4 Bundle (type "collection") of the results.

    Each input dict is one result: {"id": int, "kind": "reading" | "window", "measured_at":
    aware datetime (start), "ends_at": aware datetime or None, "stress_level": "low" |
    "medium" | "high", "confidence": 0-1, "probabilities": {"low", "medium", "high"}, "score":
    0-100 or None, "model_version": str, "recording_id": str or None, "heart_rate_bpm",
    "respiratory_rate" (breaths/min), "sdnn_ms": float or None}; optional "created_at".

    Per result: a stress Observation (level as valueCodeableConcept in the local stress-level
    code system, confidence, score and class probabilities as components, the model version as
    `method`), then one vital-signs Observation per vital present (LOINC 8867-4 heart rate,
    9279-1 respiratory rate, 80404-7 SDNN). The stress Observation is `derivedFrom` its vitals
    and the recording; the vitals from the recording. Each recording is one DocumentReference
    entry, so every reference is a urn:uuid resolvable inside the bundle.
    """
    base = _base(base_url)
    subject = {"reference": patient_reference} if patient_reference else None
    results = [_result(item) for item in observations]
    ids = [r["id"] for r in results]
    if len(set(ids)) != len(ids):
        raise ValueError("each result may appear once in a bundle (fullUrls must be unique)")
    entries: list[dict[str, Any]] = []
    documents: set[str] = set()
    for result in results:
        recording_ref: list[dict[str, str]] = []
        recording_id = result["recording_id"]
        if recording_id is not None:
            document = _recording_document(base, recording_id, subject)
            recording_ref = [{"reference": f"urn:uuid:{document['id']}"}]
            if recording_id not in documents:
                documents.add(recording_id)
                entries.append(_entry(document))
        vitals = _vital_observations(base, result, subject, recording_ref)
        from_vitals = [{"reference": f"urn:uuid:{v['id']}"} for v in vitals]
        entries.append(
            _entry(_stress_observation(base, result, subject, from_vitals + recording_ref))
        )
        entries.extend(_entry(v) for v in vitals)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": _uuid(base, "bundle", *sorted(ids)),
        "type": "collection",
    }
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return bundle


# --- Open mHealth -----------------------------------------------------------------------------


def _time_frame(result: dict[str, Any]) -> dict[str, Any]:
    if result["kind"] == "window" and result["end"] is not None:
        return {
            "time_interval": {"start_date_time": result["start"], "end_date_time": result["end"]}
        }
    return {"date_time": result["start"]}


def _data_point(
    base: str,
    result: dict[str, Any],
    schema: tuple[str, str, str],
    body: dict[str, Any],
    *,
    user_id: str | None,
    source_name: str,
) -> dict[str, Any]:
    namespace, name, version = schema
    header: dict[str, Any] = {
        "id": _uuid(base, "stress-result", result["id"], f"{namespace}:{name}:{version}"),
        # When the data point came to be in this system: the result's creation if known,
        # otherwise the end (or start) of what it measures. Never "now": re-exports stay equal.
        "creation_date_time": result["created"] or result["end"] or result["start"],
        "schema_id": {"namespace": namespace, "name": name, "version": version},
        "acquisition_provenance": {"source_name": source_name, "modality": "sensed"},
    }
    if user_id is not None:
        header["user_id"] = user_id
    return {"header": header, "body": body}


def omh_heart_rate(
    observations: Iterable[Mapping[str, Any]],
    *,
    base_url: str,
    user_id: str | None = None,
    source_name: str = DEFAULT_SOURCE_NAME,
) -> list[dict[str, Any]]:
    """Open mHealth data points (header omh:header:1.2, body omh:heart-rate:2.0), one per
    result that has a heart rate. A recording window's heart rate is the mean over the window:
    its time frame is the window, with descriptive statistic "average"."""
    base = _base(base_url)
    points = []
    for item in observations:
        result = _result(item)
        if result["heart_rate_bpm"] is None:
            continue
        body: dict[str, Any] = {
            "heart_rate": {"value": result["heart_rate_bpm"], "unit": "beats/min"},
            "effective_time_frame": _time_frame(result),
        }
        if "time_interval" in body["effective_time_frame"]:
            body["descriptive_statistic"] = "average"
        points.append(
            _data_point(
                base, result, OMH_HEART_RATE, body, user_id=user_id, source_name=source_name
            )
        )
    return points


def omh_rr_intervals(
    observations: Iterable[Mapping[str, Any]],
    *,
    base_url: str,
    user_id: str | None = None,
    source_name: str = DEFAULT_SOURCE_NAME,
) -> list[dict[str, Any]]:
    """Open mHealth data points (header omh:header:1.2, body omh:rr-interval:2.0), one per
    result that has an SDNN: the standard deviation of the RR intervals over its time frame
    (descriptive statistic "standard deviation", unit ms). The app keeps no single beat-to-beat
    intervals, so there are no single-interval data points."""
    base = _base(base_url)
    points = []
    for item in observations:
        result = _result(item)
        if result["sdnn_ms"] is None:
            continue
        body = {
            "rr_interval": {"value": result["sdnn_ms"], "unit": "ms"},
            "effective_time_frame": _time_frame(result),
            "descriptive_statistic": "standard deviation",
        }
        points.append(
            _data_point(
                base, result, OMH_RR_INTERVAL, body, user_id=user_id, source_name=source_name
            )
        )
    return points
