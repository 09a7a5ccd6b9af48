"""The known-bug and hostile corpus, scored once per test session and shared by the tests that read it.

The judge's tests (``test_judge_corpus.py``) assert each verdict against the manifest; other tests
(the Dask executor's) compare their own scoring of the same files, with the same seed, against it.
"""
import hashlib
import json
from pathlib import Path

from codegen_eval import score_many
from codegen_eval.evaluate import fresh_seed

CORPUS = Path(__file__).parent / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
# attacks on the timed runs get their verdict only with throughput measured; the rest without
PLAIN = [e for e in MANIFEST if not e.get("needs_throughput")]
TIMED = [e for e in MANIFEST if e.get("needs_throughput")]
# the host folder the hostile candidates try to write into (their source names it)
CANARY = Path("/tmp/codegen_eval_canary")
POISON = "_poisoned_by_candidate"


def tree_digest(root: Path) -> dict:
    """Path -> sha256 of every file under `root` (numba and bytecode caches left out)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def watched() -> list[Path]:
    """The host folders a hostile candidate would attack."""
    import eq

    return [CANARY, Path(eq.__file__).resolve().parent, Path(__file__).resolve().parents[1] / "codegen_eval"]


def run_corpus() -> dict:
    """Score the whole corpus locally, two at a time, between two snapshots of the watched folders.

    Returns
    -------
    dict
        ``seed``, ``results`` (manifest file name -> result), ``before`` and ``after`` (digests).
    """
    CANARY.mkdir(exist_ok=True)
    (CANARY / "keep.txt").write_text("the hostile corpus must leave this folder as it is\n")
    before = {str(root): tree_digest(root) for root in watched()}
    # a fresh seed, as in real use (a small fixed one could be searched for: seed_predicts_every_input.c);
    # every result names it, and so does every failure message
    seed = fresh_seed()
    results = score_many([str(CORPUS / e["file"]) for e in PLAIN], jobs=2, with_throughput=False, seed=seed)
    timed = score_many([str(CORPUS / e["file"]) for e in TIMED], jobs=2, seed=seed)
    after = {str(root): tree_digest(root) for root in watched()}
    return {"seed": seed, "before": before, "after": after,
            "results": {e["file"]: r for e, r in zip(PLAIN + TIMED, results + timed)}}
