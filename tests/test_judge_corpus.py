"""The judge against the known-bug corpus: every candidate gets its expected verdict and diagnoses.

All candidates are scored once (two at a time) in a module-scoped fixture; the assertions then
read the shared results.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from codegen_eval import score, score_many
from codegen_eval.cases import build_cases
from codegen_eval.task import load_task

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


@pytest.mark.parametrize("name", ["python/state_reset_at_boundary.py", "c/state_reset_at_boundary.c"])
def test_state_reset_diverges_at_a_chunk_boundary(corpus_results, name):
    """A state reset shows first in the frame right after a chunk boundary: distance 0. Checked
    against chunk ends recomputed from the case's chunk sizes, not the judge's own distance."""
    if name not in corpus_results:
        pytest.skip("corpus entry missing")
    (diag,) = [d for d in corpus_results[name]["diagnoses"] if d["code"] == "state_reset_at_boundary"]
    assert diag["evidence"]
    for ev in diag["evidence"]:
        assert ev["boundary_distance_frames"] == 0, ev
        (case,) = build_cases(load_task().data, 0, [ev["case"]])
        ends_bytes = np.cumsum(case.chunkings[ev["chunking"]])[:-1]
        # the first wrong frame is the one a chunk ends in (completed by the next call), or the
        # first frame of the next chunk when the chunk ends on a frame boundary
        assert ev["frame"] in set((ends_bytes // case.frame_bytes).tolist()), ev
        assert ev["frame"] > 0
    ev = diag["evidence"][0]
    assert diag["replay"] == f"codegen-eval score {CORPUS / name} --case {ev['case']} --chunking {ev['chunking']}"


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


def test_c_write_past_the_room_is_a_wrong_length(tmp_path):
    """eq_process writing one byte past the n + 4 * channels bytes it was given is caught by the
    guard bytes after the output buffer."""
    source = (CORPUS / "c" / "correct.c").read_text()
    end = "    return written;\n}"
    assert source.count(end) == 1
    candidate = tmp_path / "overrun.c"
    candidate.write_text(source.replace(end, "    out[n + 24] = 0;  /* past the room for up to 6 channels */\n" + end))
    result = score(candidate, case_ids=["ch-2"], with_throughput=False)
    (diag,) = [d for d in result["diagnoses"] if d["code"] == "wrong_length"]
    assert "more bytes than the room" in diag["detail"]
    assert result["verdict"] == "fail"
