"""The judge against the known-bug corpus: every candidate gets its expected verdict and diagnoses.

All candidates are scored once (two at a time) in a module-scoped fixture; the assertions then
read the shared results.
"""
import json
from pathlib import Path

import pytest

from codegen_eval import score_many

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if (CORPUS / "manifest.json").is_file() else []


@pytest.fixture(scope="module")
def corpus_results():
    paths = [str(CORPUS / entry["file"]) for entry in MANIFEST]
    results = score_many(paths, jobs=2, with_throughput=False)
    return {entry["file"]: result for entry, result in zip(MANIFEST, results)}


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_corpus_verdict_and_diagnoses(entry, corpus_results):
    result = corpus_results[entry["file"]]
    codes = {d["code"] for d in result["diagnoses"]}
    summary = [(d["code"], d["detail"]) for d in result["diagnoses"]]
    assert result["verdict"] == entry["expected_verdict"], summary
    assert set(entry["expected_diagnoses"]) <= codes, summary
    if entry["expected_verdict"] == "pass":
        assert not codes


def test_every_diagnosis_has_evidence_and_replay(corpus_results):
    for name, result in corpus_results.items():
        for d in result["diagnoses"]:
            assert d["replay"].startswith("codegen-eval score "), name
            for ev in d["evidence"]:
                if "chunking" in ev:
                    assert ev["case"], name


def test_content_diagnoses_locate_the_first_divergence(corpus_results):
    reset = corpus_results.get("python/state_reset_at_boundary.py")
    if reset is None:
        pytest.skip("corpus entry missing")
    (diag,) = [d for d in reset["diagnoses"] if d["code"] == "state_reset_at_boundary"]
    ev = diag["evidence"][0]
    assert ev["boundary_distance_frames"] in (0, 1, 2)
    assert f"--case {ev['case']} --chunking {ev['chunking']}" in diag["replay"]


@pytest.mark.parametrize("name, code, key, expected", [
    ("python/format_error_s24.py", "format_error", "formats", ["s24le"]),
    ("python/format_error_u8.py", "format_error", "formats", ["u8"]),
    ("c/format_error.c", "format_error", "formats", ["s16le"]),
    ("python/wrong_coefficients.py", "wrong_coefficients", "band_types", ["lowshelf"]),
])
def test_diagnoses_name_the_format_or_band_type(corpus_results, name, code, key, expected):
    if name not in corpus_results:
        pytest.skip("corpus entry missing")
    (diag,) = [d for d in corpus_results[name]["diagnoses"] if d["code"] == code]
    assert diag[key] == expected
