"""The standards export: every FHIR resource parsed and round-tripped by `fhir.resources`
(R4B models, the R4-compatible release in fhir.resources 8.3.0), every Open mHealth data point
validated by `jsonschema` against the published schemas vendored in schemas/omh/, through a
local registry that never fetches. Each validator is also shown to reject a broken document.

No database: these are pure functions on plain dicts.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fhir.resources.R4B as fhir_r4b
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from jsonschema import FormatChecker, validators
from pydantic import ValidationError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable

from mlcore.readings.features import FEATURE_NAMES as READING_FEATURES
from mlcore.recordings.windows import FEATURE_NAMES as WINDOW_FEATURES
from predictions import standards

BASE_URL = "https://stress.example.org"
PATIENT = "Patient/5f0c7a52-3c1e-4a8e-9d7b-2f7c1c0e9a11"
RECORDING = "2b1c8a0e-1111-4222-8333-444455556666"
START = datetime(2025, 3, 4, 9, 30, 0, tzinfo=timezone(timedelta(hours=1)))

# What the callers' dicts may also carry (model inputs, contributions): none of it may leak.
INTERNALS = {
    "ecg": 0.41,
    "emg": 0.12,
    "gsr": 0.63,
    "respiration": 0.5,
    "contributions": {"hr_mean": 0.21, "scl_mean": -0.07, "resp_rate": 0.02, "ecg_std": 0.1},
    "features": dict.fromkeys(WINDOW_FEATURES, 1.0),
}


def reading(**overrides: Any) -> dict[str, Any]:
    result = {
        "id": 41,
        "kind": "reading",
        "measured_at": START,
        "ends_at": None,
        "stress_level": "low",
        "confidence": 0.82,
        "probabilities": {"low": 0.82, "medium": 0.13, "high": 0.05},
        "score": None,
        "model_version": "2025-02-10-forest",
        "recording_id": None,
        "heart_rate_bpm": None,
        "respiratory_rate": None,
        "sdnn_ms": None,
        **INTERNALS,
    }
    return {**result, **overrides}


def window(**overrides: Any) -> dict[str, Any]:
    return reading(
        **{
            "id": 42,
            "kind": "window",
            "measured_at": START + timedelta(minutes=5),
            "ends_at": START + timedelta(minutes=6),
            "stress_level": "high",
            "confidence": 0.71,
            "probabilities": {"low": 0.09, "medium": 0.2, "high": 0.71},
            "score": 78.5,
            "model_version": "rec-2025-03-01",
            "recording_id": RECORDING,
            "heart_rate_bpm": 91.4,
            "respiratory_rate": 17.2,
            "sdnn_ms": 38.6,
            **overrides,
        }
    )


def resources(bundle: dict[str, Any], resource_type: str | None = None) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle.get("entry", [])
        if resource_type is None or e["resource"]["resourceType"] == resource_type
    ]


def by_loinc(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        coding["code"]: r
        for r in resources(bundle, "Observation")
        for coding in r["code"]["coding"]
        if coding["system"] == standards.LOINC
    }


def stress_observations(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in resources(bundle, "Observation")
        if r["code"]["coding"][0]["code"] == "stress-level"
    ]


# --- FHIR: the validator --------------------------------------------------------------------

# Required bindings of FHIR R4 (hl7.org/fhir/R4 valuesets) for the coded elements we emit.
# fhir.resources checks structure, cardinality, types and primitive formats but not value sets
# (see test_fhir_resources_does_not_check_value_sets), so the tests check these themselves.
REQUIRED_CODES = {
    ("Bundle", "type"): {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    },
    ("Observation", "status"): {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    },
    ("DocumentReference", "status"): {"current", "superseded", "entered-in-error"},
}
# http://terminology.hl7.org/CodeSystem/observation-category (R4).
OBSERVATION_CATEGORIES = {
    "social-history",
    "vital-signs",
    "imaging",
    "laboratory",
    "procedure",
    "survey",
    "exam",
    "therapy",
    "activity",
}
# R4 vital-signs profiles: profile -> (LOINC code, UCUM code).
VITAL_PROFILES = {
    "heartrate": ("8867-4", "/min"),
    "resprate": ("9279-1", "/min"),
    "vitalsigns": ("80404-7", "ms"),
}


def binding_errors(bundle: dict[str, Any]) -> list[str]:
    errors = []
    if bundle["type"] not in REQUIRED_CODES[("Bundle", "type")]:
        errors.append(f"Bundle.type {bundle['type']!r}")
    for resource in resources(bundle):
        kind = resource["resourceType"]
        allowed = REQUIRED_CODES.get((kind, "status"))
        if allowed is not None and resource.get("status") not in allowed:
            errors.append(f"{kind}.status {resource.get('status')!r}")
        for category in resource.get("category", []):
            for coding in category["coding"]:
                if (
                    coding["system"] == standards.OBSERVATION_CATEGORY
                    and coding["code"] not in OBSERVATION_CATEGORIES
                ):
                    errors.append(f"{kind}.category {coding['code']!r}")
    return errors


def fhir_validate(bundle: dict[str, Any]) -> Bundle:
    """Parse the bundle and each of its resources with the R4B models; each must serialise
    back to exactly what went in; its codes must be in their required value sets; every
    reference must resolve inside the bundle."""
    parsed = Bundle.model_validate(bundle)
    assert json.loads(parsed.model_dump_json(exclude_none=True)) == bundle
    for resource in resources(bundle):
        model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert json.loads(model.model_dump_json(exclude_none=True)) == resource
    assert binding_errors(bundle) == []
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
        uuid.UUID(entry["resource"]["id"])
    for reference in re.findall(r'"reference": "(urn:uuid:[^"]+)"', json.dumps(bundle)):
        assert reference in full_urls, f"{reference} does not resolve inside the bundle"
    return parsed


def test_fhir_models_are_the_r4_compatible_release() -> None:
    """fhir.resources 8.3.0 has R5 at the top level, R4B and STU3 below; no plain R4. R4B
    (4.3.0) is R4's technical-correction release: Bundle, Observation, DocumentReference and
    the data types used here are unchanged from R4, so what R4B accepts is R4."""
    import fhir.resources

    assert fhir.resources.__version__ == "8.3.0"
    assert fhir.resources.__fhir_version__ == "5.0.0"
    assert fhir_r4b.__fhir_version__ == "4.3.0"


def test_a_mixed_export_validates_and_round_trips() -> None:
    bundle = standards.fhir_bundle(
        [reading(), window(), window(id=43, measured_at=START + timedelta(minutes=6))],
        patient_reference=PATIENT,
        base_url=BASE_URL,
    )
    parsed = fhir_validate(bundle)
    assert parsed.type == "collection"
    kinds = [r["resourceType"] for r in resources(bundle)]
    # One recording, shared by both windows: one DocumentReference.
    assert kinds.count("DocumentReference") == 1
    assert kinds.count("Observation") == 1 + 4 + 4


def test_without_a_patient_the_bundle_has_no_subject_and_claims_no_profile() -> None:
    bundle = standards.fhir_bundle([window()], patient_reference=None, base_url=BASE_URL)
    fhir_validate(bundle)
    for resource in resources(bundle):
        assert "subject" not in resource
        assert "meta" not in resource


def test_a_reading_without_vitals_is_one_observation() -> None:
    bundle = standards.fhir_bundle([reading()], patient_reference=PATIENT, base_url=BASE_URL)
    fhir_validate(bundle)
    (observation,) = resources(bundle)
    assert observation["resourceType"] == "Observation"
    assert observation["effectiveDateTime"] == "2025-03-04T09:30:00+01:00"
    assert "derivedFrom" not in observation
    assert observation["subject"] == {"reference": PATIENT}


def test_the_stress_observation() -> None:
    bundle = standards.fhir_bundle([window()], patient_reference=PATIENT, base_url=BASE_URL)
    fhir_validate(bundle)
    (stress,) = stress_observations(bundle)
    assert stress["status"] == "final"
    assert stress["category"][0]["coding"][0] == {
        "system": standards.OBSERVATION_CATEGORY,
        "code": "activity",
        "display": "Activity",
    }
    assert stress["valueCodeableConcept"]["coding"] == [
        {
            "system": f"{BASE_URL}/fhir/CodeSystem/stress-level",
            "code": "high",
            "display": "High stress",
        }
    ]
    assert stress["effectivePeriod"] == {
        "start": "2025-03-04T09:35:00+01:00",
        "end": "2025-03-04T09:36:00+01:00",
    }
    assert stress["method"]["coding"][0]["system"] == f"{BASE_URL}/fhir/CodeSystem/stress-model"
    assert stress["method"]["coding"][0]["code"] == "rec-2025-03-01"
    assert "rec-2025-03-01" in stress["method"]["text"]
    components = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in stress["component"]}
    assert components["confidence"]["value"] == 0.71
    assert components["score"] == {
        "value": 78.5,
        "unit": "score",
        "system": standards.UCUM,
        "code": "{score}",
    }
    assert [components[f"probability-{k}"]["value"] for k in ("low", "medium", "high")] == [
        0.09,
        0.2,
        0.71,
    ]
    # Derived from the recording (a DocumentReference in the bundle) and from its vitals.
    document = resources(bundle, "DocumentReference")[0]
    assert document["identifier"] == [
        {"system": f"{BASE_URL}/fhir/identifier/recording", "value": RECORDING}
    ]
    assert document["status"] == "current"
    derived = {d["reference"] for d in stress["derivedFrom"]}
    vitals = {f"urn:uuid:{r['id']}" for r in by_loinc(bundle).values()}
    assert derived == vitals | {f"urn:uuid:{document['id']}"}


def test_a_window_with_all_vitals_is_four_profile_conformant_observations() -> None:
    bundle = standards.fhir_bundle([window()], patient_reference=PATIENT, base_url=BASE_URL)
    fhir_validate(bundle)
    assert len(resources(bundle, "Observation")) == 4
    vitals = by_loinc(bundle)
    assert set(vitals) == {"8867-4", "9279-1", "80404-7"}
    values = {"8867-4": 91.4, "9279-1": 17.2, "80404-7": 38.6}
    for profile, (loinc, ucum) in VITAL_PROFILES.items():
        vital = vitals[loinc]
        # What the R4 vital-signs profiles require beyond the base resource.
        assert vital["meta"]["profile"] == [f"http://hl7.org/fhir/StructureDefinition/{profile}"]
        assert vital["status"] == "final"
        assert {
            (c["system"], c["code"]) for category in vital["category"] for c in category["coding"]
        } == {(standards.OBSERVATION_CATEGORY, "vital-signs")}
        assert vital["subject"] == {"reference": PATIENT}
        assert "effectivePeriod" in vital
        quantity = vital["valueQuantity"]
        assert quantity["system"] == "http://unitsofmeasure.org"
        assert quantity["code"] == ucum
        assert quantity["value"] == values[loinc]


@pytest.mark.parametrize("missing", ["heart_rate_bpm", "respiratory_rate", "sdnn_ms"])
def test_absent_or_nan_vitals_give_no_observation(missing: str) -> None:
    for value in (None, float("nan")):
        bundle = standards.fhir_bundle(
            [window(**{missing: value})], patient_reference=PATIENT, base_url=BASE_URL
        )
        fhir_validate(bundle)
        assert len(resources(bundle, "Observation")) == 3


def test_sub_second_times_and_odd_model_versions_stay_valid() -> None:
    start = datetime(2025, 3, 4, 8, 30, 0, 123456, tzinfo=UTC)
    result = window(measured_at=start, ends_at=start + timedelta(seconds=30), model_version=" v 3 ")
    bundle = standards.fhir_bundle([result], patient_reference=PATIENT, base_url=BASE_URL)
    fhir_validate(bundle)
    assert stress_observations(bundle)[0]["method"]["coding"][0]["code"] == "v 3"
    (point,) = standards.omh_heart_rate([result], base_url=BASE_URL)
    assert data_point_errors(point) == []


def test_ids_are_stable_across_exports_and_derived_from_base_url_and_id() -> None:
    def export(base_url: str = BASE_URL) -> dict[str, Any]:
        return standards.fhir_bundle(
            (r for r in [reading(), window()]), patient_reference=PATIENT, base_url=base_url
        )

    first, second = export(), export()
    assert first == second
    stress_reading = stress_observations(first)[0]
    expected = uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE_URL}/stress-result/41")
    assert stress_reading["id"] == str(expected)
    # A trailing slash is the same site; another site gives other ids.
    assert export(BASE_URL + "/") == first
    other = export("https://other.example.org")
    assert {e["fullUrl"] for e in other["entry"]}.isdisjoint(e["fullUrl"] for e in first["entry"])


def test_nothing_internal_leaks() -> None:
    bundle = standards.fhir_bundle([reading(), window()], patient_reference=None, base_url=BASE_URL)
    points = standards.omh_heart_rate(
        [reading(heart_rate_bpm=70.0), window()], base_url=BASE_URL
    ) + standards.omh_rr_intervals([window()], base_url=BASE_URL)
    internal = set(WINDOW_FEATURES) | set(READING_FEATURES) | {"contributions", "features"}
    fhir_text = json.dumps(bundle)
    # "heart_rate" is the published omh:heart-rate property name, so it may appear there only.
    omh_text = json.dumps(points)
    for code in internal:
        assert not re.search(rf"\b{re.escape(code)}\b", fhir_text), code
        if code != "heart_rate":
            assert not re.search(rf"\b{re.escape(code)}\b", omh_text), code


# --- FHIR: the validation can fail ----------------------------------------------------------


def _broken(change) -> dict[str, Any]:
    bundle = standards.fhir_bundle([window()], patient_reference=PATIENT, base_url=BASE_URL)
    broken = copy.deepcopy(bundle)
    change(stress_observations(broken)[0])
    return broken


FHIR_BREAKAGES = {
    "required status missing": lambda r: r.pop("status"),
    "status not a code": lambda r: r.update(status="not final "),
    "two effective[x]": lambda r: r.update(effectiveDateTime=r["effectivePeriod"]["start"]),
    "instant not a date": lambda r: r.update(issued="yesterday"),
    "unknown element": lambda r: r.update(stressLevel="high"),
    "decimal not a number": lambda r: r["component"][0]["valueQuantity"].update(value="high"),
    "id with spaces": lambda r: r.update(id="not an id!"),
}


@pytest.mark.parametrize("change", FHIR_BREAKAGES.values(), ids=FHIR_BREAKAGES.keys())
def test_fhir_resources_rejects_a_broken_resource(change) -> None:
    with pytest.raises(ValidationError):
        Bundle.model_validate(_broken(change))


def test_fhir_resources_does_not_check_value_sets() -> None:
    """A status outside its required value set passes fhir.resources (its models list the
    codes as hints only), so the tests check the required bindings themselves: that check
    rejects it."""
    broken = _broken(lambda r: r.update(status="bogus"))
    Bundle.model_validate(broken)
    assert binding_errors(broken) == ["Observation.status 'bogus'"]
    with pytest.raises(AssertionError):
        fhir_validate(broken)


def test_an_unresolvable_reference_is_caught() -> None:
    broken = _broken(lambda r: r["derivedFrom"].append({"reference": f"urn:uuid:{uuid.uuid4()}"}))
    with pytest.raises(AssertionError, match="does not resolve"):
        fhir_validate(broken)


# --- inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"measured_at": datetime(2025, 3, 4, 9, 30)},
        {"ends_at": datetime(2025, 3, 4, 9, 31)},
        {"stress_level": "extreme"},
        {"kind": "batch"},
        {"confidence": float("nan")},
        {"model_version": "  "},
    ],
)
def test_bad_input_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        standards.fhir_bundle([window(**bad)], patient_reference=None, base_url=BASE_URL)
    with pytest.raises(ValueError):
        standards.omh_heart_rate([window(**bad)], base_url=BASE_URL)


def test_no_results_give_an_empty_but_valid_export() -> None:
    bundle = standards.fhir_bundle([], patient_reference=PATIENT, base_url=BASE_URL)
    assert "entry" not in bundle
    assert json.loads(Bundle.model_validate(bundle).model_dump_json(exclude_none=True)) == bundle
    assert standards.omh_heart_rate([], base_url=BASE_URL) == []
    assert standards.omh_rr_intervals([], base_url=BASE_URL) == []


def test_a_result_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="once"):
        standards.fhir_bundle([window(), window()], patient_reference=None, base_url=BASE_URL)


# --- Open mHealth: the validator ------------------------------------------------------------

SCHEMAS = Path(__file__).parent / "schemas" / "omh"
# Where each folder's files are published (their $id / w3id addresses).
BASES = {
    "omh": "https://w3id.org/openmhealth/schemas/omh/",
    "ieee": "https://w3id.org/ieee/ieee-1752-schema/",
}
VERSIONED = re.compile(r"(?P<name>.+)-(?P<major>\d+)\.(?P<minor>\d+)\.json")
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def _no_network(uri: str) -> Resource:
    raise NoSuchResource(ref=uri)


def schema_registry() -> Registry:
    """Every vendored file under its published address. Upstream, `name-1.x.json` is a
    symbolic link to the current 1.y file; here one 1.y of each is vendored and also answers
    for 1.x. Anything else is unresolvable: nothing is fetched."""
    registry = Registry(retrieve=_no_network)
    for folder, base in BASES.items():
        for path in sorted((SCHEMAS / folder).glob("*.json")):
            resource = Resource.from_contents(json.loads(path.read_text(encoding="utf-8")))
            match = VERSIONED.fullmatch(path.name)
            assert match, path.name
            alias = f"{match['name']}-{match['major']}.x.json"
            assert base + alias not in registry, f"two vendored versions for {alias}"
            registry = registry.with_resources(
                [(base + path.name, resource), (base + alias, resource)]
            )
    return registry.crawl()


REGISTRY = schema_registry()


def _format_checker() -> FormatChecker:
    """jsonschema checks "date-time" only with an optional package the project does not
    install; this checker does it (RFC 3339, as the schemas say), so a bad time fails."""
    checker = FormatChecker()

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not RFC3339.fullmatch(value):
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        datetime.fromisoformat(value)
        return True

    return checker


FORMATS = _format_checker()


def omh_errors(schema_uri: str, instance: Any) -> list[str]:
    validator_class = validators.validator_for(REGISTRY.contents(schema_uri))
    validator = validator_class({"$ref": schema_uri}, registry=REGISTRY, format_checker=FORMATS)
    return [error.message for error in validator.iter_errors(instance)]


def data_point_errors(point: dict[str, Any]) -> list[str]:
    """The data point against omh:data-point (header included), its body against the schema
    its header names, as Open mHealth validates one."""
    schema_id = point["header"]["schema_id"]
    body_uri = f"{BASES[schema_id['namespace']]}{schema_id['name']}-{schema_id['version']}.json"
    return omh_errors(BASES["omh"] + "data-point-1.0.json", point) + omh_errors(
        body_uri, point["body"]
    )


def test_every_vendored_reference_resolves_locally() -> None:
    refs = []
    for folder, base in BASES.items():
        for path in sorted((SCHEMAS / folder).glob("*.json")):
            text = path.read_text(encoding="utf-8")
            refs += [(base + path.name, ref) for ref in re.findall(r'"\$ref":\s*"([^"]+)"', text)]
    assert refs
    for uri, ref in refs:
        REGISTRY.resolver(base_uri=uri).lookup(uri + ref if ref.startswith("#") else ref)
    with pytest.raises(Unresolvable):
        REGISTRY.resolver().lookup("https://w3id.org/openmhealth/schemas/omh/step-count-3.0.json")


def test_date_time_format_is_checked() -> None:
    """Without the format checker a malformed time would pass: the check is not assumed."""
    uri = BASES["omh"] + "heart-rate-2.0.json"
    body = {"heart_rate": {"value": 70, "unit": "beats/min"}, "effective_time_frame": {}}
    body["effective_time_frame"]["date_time"] = "2025-03-04 09:30"
    validator_class = validators.validator_for(REGISTRY.contents(uri))
    assert list(validator_class({"$ref": uri}, registry=REGISTRY).iter_errors(body)) == []
    assert omh_errors(uri, body)
    body["effective_time_frame"]["date_time"] = "2025-03-04T09:30:00Z"
    assert omh_errors(uri, body) == []


def test_the_vendored_files_are_the_ones_source_md_names() -> None:
    source = (SCHEMAS / "SOURCE.md").read_text(encoding="utf-8")
    vendored = {f"{p.parent.name}/{p.name}" for p in SCHEMAS.glob("*/*.json")}
    named = set(re.findall(r"`((?:omh|ieee)/[a-z0-9.-]+\.json)`", source))
    assert vendored == named


def test_heart_rate_data_points_validate() -> None:
    points = standards.omh_heart_rate(
        [reading(heart_rate_bpm=68.0), reading(id=40), window()],
        base_url=BASE_URL,
        user_id="user-7",
    )
    assert len(points) == 2  # the reading without a heart rate has none
    for point in points:
        assert data_point_errors(point) == []
        # The body is also valid under the successor, omh:heart-rate:3.0 (IEEE 1752.1 parts).
        assert omh_errors(BASES["omh"] + "heart-rate-3.0.json", point["body"]) == []
        assert point["header"]["schema_id"] == {
            "namespace": "omh",
            "name": "heart-rate",
            "version": "2.0",
        }
        assert point["header"]["user_id"] == "user-7"
    typed, recorded = points
    assert typed["body"] == {
        "heart_rate": {"value": 68.0, "unit": "beats/min"},
        "effective_time_frame": {"date_time": "2025-03-04T09:30:00+01:00"},
    }
    assert recorded["body"] == {
        "heart_rate": {"value": 91.4, "unit": "beats/min"},
        "effective_time_frame": {
            "time_interval": {
                "start_date_time": "2025-03-04T09:35:00+01:00",
                "end_date_time": "2025-03-04T09:36:00+01:00",
            }
        },
        "descriptive_statistic": "average",
    }


def test_rr_interval_data_points_validate() -> None:
    points = standards.omh_rr_intervals(
        [reading(), window(), window(id=43, sdnn_ms=None)], base_url=BASE_URL
    )
    (point,) = points
    assert data_point_errors(point) == []
    assert point["header"]["schema_id"] == {
        "namespace": "omh",
        "name": "rr-interval",
        "version": "2.0",
    }
    assert point["body"]["rr_interval"] == {"value": 38.6, "unit": "ms"}
    assert point["body"]["descriptive_statistic"] == "standard deviation"
    assert "user_id" not in point["header"]


def test_omh_ids_are_stable_and_distinct() -> None:
    def export() -> list[dict[str, Any]]:
        results = [reading(heart_rate_bpm=70.0, created_at=START), window()]
        return standards.omh_heart_rate(results, base_url=BASE_URL) + standards.omh_rr_intervals(
            results, base_url=BASE_URL
        )

    first = export()
    assert first == export()
    ids = [p["header"]["id"] for p in first]
    assert len(set(ids)) == len(ids) == 3
    assert first[0]["header"]["creation_date_time"] == START.isoformat()
    # Without created_at: the end of the window, never the time of the export.
    assert first[1]["header"]["creation_date_time"] == "2025-03-04T09:36:00+01:00"
    assert standards.omh_heart_rate(
        [window(measured_at=START.astimezone(UTC), ends_at=None)], base_url=BASE_URL
    )[0]["body"]["effective_time_frame"] == {"date_time": "2025-03-04T08:30:00Z"}


# --- Open mHealth: the validation can fail --------------------------------------------------


def _point() -> dict[str, Any]:
    return standards.omh_heart_rate([window()], base_url=BASE_URL)[0]


OMH_BREAKAGES = {
    "unit not beats/min": lambda p: p["body"]["heart_rate"].update(unit="bpm"),
    "value a string": lambda p: p["body"]["heart_rate"].update(value="91"),
    "no time frame": lambda p: p["body"].pop("effective_time_frame"),
    "time not RFC 3339": lambda p: p["body"]["effective_time_frame"]["time_interval"].update(
        start_date_time="9:35"
    ),
    "statistic not in enum": lambda p: p["body"].update(descriptive_statistic="mean"),
    "header without schema_id": lambda p: p["header"].pop("schema_id"),
    "modality not in enum": lambda p: p["header"]["acquisition_provenance"].update(
        modality="guessed"
    ),
    "no body": lambda p: p.pop("body"),
}


@pytest.mark.parametrize("change", OMH_BREAKAGES.values(), ids=OMH_BREAKAGES.keys())
def test_an_invalid_data_point_is_rejected(change) -> None:
    point = _point()
    assert data_point_errors(point) == []
    change(point)
    if "header" in point and "schema_id" in point["header"] and "body" in point:
        errors = data_point_errors(point)
    else:
        errors = omh_errors(BASES["omh"] + "data-point-1.0.json", point)
    assert errors


def test_an_invalid_rr_interval_is_rejected() -> None:
    body = standards.omh_rr_intervals([window()], base_url=BASE_URL)[0]["body"]
    uri = BASES["omh"] + "rr-interval-2.0.json"
    assert omh_errors(uri, body) == []
    assert omh_errors(uri, {**body, "rr_interval": {"value": 38.6, "unit": "s"}})
    assert omh_errors(uri, {"rr_interval": body["rr_interval"]})  # 2.0 requires a time frame
