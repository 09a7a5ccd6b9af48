"""eq.StreamingEqualizer, run through the Python contract in the sandbox, scores a perfect pass."""
from codegen_eval import score


def test_reference_passes_through_the_python_contract():
    result = score(None, reference=True, with_throughput=False)
    assert result["diagnoses"] == []
    assert result["verdict"] == "pass"
    assert result["properties"]["runs_ok"] == result["properties"]["runs"]


def test_reference_outputs_agree_with_the_scipy_oracle():
    from codegen_eval.evaluate import prepare
    from codegen_eval.task import load_task

    built, refs, _ = prepare(load_task(), 0)
    assert len(refs) == sum(len(case.inputs) for case in built)
    for (case_id, input_name), ref in refs.items():
        # eq and scipy.signal.sosfilt differ by at most the noise-derived tolerance
        assert ref.oracle_max_diff <= ref.tolerance.max_abs, (case_id, input_name)
