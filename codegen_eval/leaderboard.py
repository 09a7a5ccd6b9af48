"""The leaderboard: models x languages from the scoring databases of generated runs, as one HTML page and JSON.

``codegen-eval leaderboard runs/NAME... [--html board.html] [--json [OUT]]`` reads each run's
``results.sqlite`` (:class:`codegen_eval.results_db.ResultsDB`), computes the metrics of
:mod:`codegen_eval.metrics` and writes

- one self-contained HTML page (inline CSS, a few lines of inline JavaScript to sort the table, plots as
  inline SVG; nothing is loaded from elsewhere): the table of models x languages, the plots (pass@k curves,
  speed-ups of the correct samples, diagnoses per model, pass@1 after t turns), and a section per model
  listing every sample with a link to its own report;
- the reports of the samples, next to the page in ``<page stem>_reports/<run>/<model_dir>/<task>/<language>/
  sample_000[.turnN].html`` (:func:`codegen_eval.report_html.html_report`), linked relatively;
- the same numbers as JSON (``--json``): the payload of :func:`board_payload`, also embedded in the page as
  ``<script type="application/json" id="board-data">``, and on every number of the page as
  ``data-metric``/``data-value`` attributes (raw floats), so that a program can read the page.

A speed-up is a ratio to the reference measured on the sample's own machine; when the samples were timed on
more than one machine the page says so and shows the machines of every row.
"""
from __future__ import annotations

import html
import io
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .samples import write_atomic
from .metrics import FAST_PS, N_BOOT, PASS_AT_KS, p_key, summarize

SCHEMA = "codegen_eval.leaderboard/1"
DEFAULT_TITLE = "codegen-eval leaderboard"
DB_NAME = "results.sqlite"

_CSS = """
body{font-family:system-ui,sans-serif;font-size:14px;max-width:1400px;margin:0 auto;padding:0 16px;color:#222}
h1{font-size:24px}h2{font-size:19px;margin:24px 0 8px}h3{font-size:15px;margin:14px 0 6px}
section{border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:18px 0}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none}table.sortable th[data-order=asc]::after{content:" \\25B2"}
table.sortable th[data-order=desc]::after{content:" \\25BC"}
.ci{color:#666;font-size:12px}.pass{color:#0a7a0a}.fail{color:#b00}.error{color:#b36b00}.no_code{color:#777}
.verdict{font-weight:bold}.warn{background:#fff4d6;border-left:4px solid #b36b00;padding:6px 10px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
figure{margin:0}figcaption{font-size:12px;color:#444}svg{max-width:100%;height:auto}
.note{color:#555;font-size:12px}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('thead th').forEach(function (th) {
    th.addEventListener('click', function () {
      var numeric = th.dataset.type === 'num';
      var desc = th.dataset.order ? th.dataset.order === 'asc' : numeric;
      table.querySelectorAll('thead th').forEach(function (h) { delete h.dataset.order; });
      th.dataset.order = desc ? 'desc' : 'asc';
      var col = th.cellIndex, body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) { var td = row.cells[col]; return td.dataset.sort !== undefined ? td.dataset.sort : td.textContent.trim(); }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (numeric) {
          if (x === 'null' || y === 'null') { return (x === 'null') - (y === 'null'); }
          return desc ? parseFloat(y) - parseFloat(x) : parseFloat(x) - parseFloat(y);
        }
        return desc ? y.localeCompare(x) : x.localeCompare(y);
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


# --- payload --------------------------------------------------------------------------------------------

def _sample_row(r: dict) -> dict:
    return {"run": str(r.get("run")), "model": r["model"], "task": r["task"], "language": r["language"],
            "sample": r["sample"], "turn": r["turn"], "verdict": r["verdict"],
            "diagnoses": list(r.get("diagnoses") or []), "speedup": r.get("speedup"),
            "machine": r.get("machine"), "path": str(r.get("path"))}


def _sample_order(r: dict) -> tuple:
    return (r["model"], r["language"], r["task"], str(r.get("run")), r["sample"], r["turn"])


def board_payload(records: Sequence[dict], n_boot: int = N_BOOT, seed: int = 0,
                  incomplete: Sequence[dict] = ()) -> dict:
    """The numbers of the leaderboard, as JSON-ready data.

    Parameters
    ----------
    records : sequence of dict
        Sample records of every turn (``ResultsDB.sample_records()``).
    n_boot, seed : int, optional
        Bootstrap resamples and seed of the intervals (:func:`codegen_eval.metrics.bootstrap_ci`).
    incomplete : sequence of dict, optional
        Runs with samples that have no result (``run``, ``samples``, ``unscored``).

    Returns
    -------
    dict
        ``schema``, ``summary`` (:func:`codegen_eval.metrics.summarize`), ``samples`` (one row per record,
        sorted by model, language, task, run, sample, turn: ``run``, ``model``, ``task``, ``language``,
        ``sample``, ``turn``, ``verdict``, ``diagnoses``, ``speedup``, ``machine``, ``path``) and
        ``several_machines`` (True when the speed-ups were measured on more than one machine) and
        ``incomplete`` (`incomplete`: empty unless the board shows a partly scored run).

    Raises
    ------
    ValueError
        When ``records`` is empty or a record is malformed.
    """
    if not records:
        raise ValueError("no sample records: nothing to put on a leaderboard")
    summary = summarize(records, n_boot=n_boot, seed=seed)
    return {"schema": SCHEMA, "summary": summary,
            "samples": [_sample_row(r) for r in sorted(records, key=_sample_order)],
            "several_machines": len(summary["machines"]) > 1, "incomplete": [dict(i) for i in incomplete]}


# --- numbers in the page --------------------------------------------------------------------------------

def _raw(value) -> str:
    """A number as a ``data-value``: the shortest text that reads back as the same float; ``null`` for None."""
    if value is None:
        return "null"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a data-value must be a number or None, got {value!r}")
    return repr(value) if isinstance(value, int) else repr(float(value))


def _fmt(value, kind: str = "rate") -> str:
    if value is None:
        return "\u2014"
    if kind == "rate":
        return f"{value:.3f}"
    if kind == "speedup":
        return f"{value:.2f}\u00d7"
    return str(value)


def _cell(metric: str, value, kind: str = "rate", extra: str = "") -> str:
    """A table cell carrying its raw number (``data-metric``, ``data-value``; ``data-sort`` for sorting)."""
    raw = html.escape(_raw(value))
    return (f"<td class='num' data-metric='{html.escape(metric)}' data-value='{raw}' data-sort='{raw}'>"
            f"{_fmt(value, kind)}{extra}</td>")


def _ci(metric: str, bounds: Sequence[float | None]) -> str:
    low, high = bounds
    shown = ["\u2014" if b is None else f"{b:.2f}" for b in (low, high)]
    return (f" <span class='ci'>[<span data-metric='{metric}.0' data-value='{_raw(low)}'>{shown[0]}</span>, "
            f"<span data-metric='{metric}.1' data-value='{_raw(high)}'>{shown[1]}</span>]</span>")


# --- plots ----------------------------------------------------------------------------------------------

def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig, name: str) -> str:
    """The figure as inline SVG: text kept as text, ids salted by ``name`` (unique and the same every run)."""
    import matplotlib

    plt = _pyplot()
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"board-{name}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    return text


def _colours(groups: list[dict]) -> dict[tuple, str]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(groups) <= 10 else "tab20"]
    return {(g["model"], g["language"]): matplotlib.colors.to_hex(cmap(i % cmap.N)) for i, g in enumerate(groups)}


def _label(g: dict) -> str:
    return f"{g['model']} ({g['language']})"


def _plot_pass_at_k(groups: list[dict], colours: dict) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for g in groups:
        ks = [k for k in PASS_AT_KS if g["pass_at_k"][str(k)] is not None]
        ax.plot(ks, [g["pass_at_k"][str(k)] for k in ks], marker="o", color=colours[(g["model"], g["language"])],
                label=_label(g))
    ax.set_xscale("log")
    ax.set_xticks(list(PASS_AT_KS), [str(k) for k in PASS_AT_KS])
    ax.set_xlim(0.8, max(PASS_AT_KS) * 1.25)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("k (samples drawn)")
    ax.set_ylabel("pass@k")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig, "pass_at_k")


def _plot_speedups(groups: list[dict], colours: dict) -> str | None:
    shown = [g for g in groups if g["speedups"]]
    if not shown:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.35 * len(shown) + 2.0))
    for i, g in enumerate(shown):
        values = g["speedups"]
        # a fixed spread of the points around the row, so that equal values stay visible and the page is the
        # same on every run
        offsets = [((j * 0.618034) % 1.0 - 0.5) * 0.5 for j in range(len(values))]
        ax.scatter(values, [i + o for o in offsets], s=14, alpha=0.75, color=colours[(g["model"], g["language"])])
        if g["geomean_speedup"] is not None:
            ax.plot([g["geomean_speedup"]] * 2, [i - 0.35, i + 0.35], color="k", linewidth=1.5)
    ax.axvline(1.0, color="#b00", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    values = [v for g in shown for v in g["speedups"]] + [1.0]
    low, high = min(values) / 1.3, max(values) * 1.3
    ax.set_xlim(low, high)
    ticks = [t * 10.0 ** e for e in range(-3, 4) for t in (1, 2, 5) if low <= t * 10.0 ** e <= high]
    ax.set_xticks(ticks, [f"{t:g}\u00d7" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(range(len(shown)), [_label(g) for g in shown], fontsize=8)
    ax.set_ylim(-0.7, len(shown) - 0.3)
    ax.set_xlabel("speed-up over the reference (same machine), log scale")
    ax.grid(alpha=0.3, axis="x")
    return _svg(fig, "speedups")


def _plot_diagnoses(groups: list[dict], colours: dict) -> str | None:
    models = sorted({g["model"] for g in groups})
    per_model = {m: [g for g in groups if g["model"] == m] for m in models}
    codes = {m: sorted({c for g in gs for c in g["diagnoses"]}) for m, gs in per_model.items()}
    shown = [m for m in models if codes[m]]
    if not shown:
        return None
    plt = _pyplot()
    heights = [0.6 + 0.28 * len(codes[m]) for m in shown]
    fig, axes = plt.subplots(len(shown), 1, figsize=(6.4, sum(heights) + 0.6 * len(shown)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, m in zip(axes[:, 0], shown):
        left = [0] * len(codes[m])
        for g in per_model[m]:
            counts = [g["diagnoses"].get(c, 0) for c in codes[m]]
            ax.barh(codes[m], counts, left=left, color=colours[(g["model"], g["language"])], label=g["language"])
            left = [a + b for a, b in zip(left, counts)]
        ax.set_title(m, fontsize=9, loc="left")
        ax.tick_params(axis="y", labelsize=8)
        ax.invert_yaxis()
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes[-1, 0].set_xlabel("turn-1 samples with the diagnosis")
    fig.tight_layout()
    return _svg(fig, "diagnoses")


def _plot_turns(groups: list[dict], colours: dict) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    last = max(g["max_turn"] for g in groups)
    for g in groups:
        curve = g["pass_at_1_by_turn"]
        ax.plot(range(1, len(curve) + 1), curve, marker="o", color=colours[(g["model"], g["language"])],
                label=_label(g))
    ax.set_xticks(range(1, last + 1))
    ax.set_xlim(0.7, last + 0.3)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("turns (1 = single shot, then repairs with the scoring feedback)")
    ax.set_ylabel("pass@1 after t turns")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig, "turns")


# --- the page -------------------------------------------------------------------------------------------

def _model_ids(groups: list[dict]) -> dict[str, str]:
    return {m: f"model-{i}" for i, m in enumerate(sorted({g["model"] for g in groups}))}


def _shown_ks(groups: list[dict]) -> list[int]:
    return [k for k in PASS_AT_KS if k == 1 or any(g["pass_at_k"][str(k)] is not None for g in groups)]


def _main_table(summary: dict, model_ids: dict, several_machines: bool) -> str:
    e = html.escape
    groups = summary["groups"]
    ks = _shown_ks(groups)
    head = ["<th data-type='text'>model</th>", "<th data-type='text'>language</th>"]
    if several_machines:
        head.append("<th data-type='text'>machines</th>")
    head.append("<th data-type='num' title='turn-1 samples'>n</th>")
    head += [f"<th data-type='num' data-metric-head='pass_at_k.{k}'>pass@{k}{' [95% CI]' if k == 1 else ''}</th>"
             for k in ks]
    head += [f"<th data-type='num' data-metric-head='fast_p.{p_key(p)}'>fast<sub>{p_key(p)}</sub>"
             f"{' [95% CI]' if p == 1.0 else ''}</th>" for p in FAST_PS]
    head += ["<th data-type='num' title='geometric mean over the correct samples with a measured speed-up'>"
             "speed-up (geomean)</th>", "<th data-type='num'>measured</th>",
             "<th data-type='num'>no code</th>", "<th data-type='num'>compile failed</th>",
             "<th data-type='num'>load failed</th>"]
    rows = []
    for g in groups:
        cells = [f"<td data-sort='{e(g['model'])}'><a href='#{model_ids[g['model']]}'>{e(g['model'])}</a></td>",
                 f"<td>{e(g['language'])}</td>"]
        if several_machines:
            cells.append(f"<td>{e('; '.join(g['machines']) or '—')}</td>")
        cells.append(_cell("n_samples", g["n_samples"], "int"))
        for k in ks:
            extra = _ci("pass_at_1_ci", g["pass_at_1_ci"]) if k == 1 else ""
            cells.append(_cell(f"pass_at_k.{k}", g["pass_at_k"][str(k)], extra=extra))
        for p in FAST_PS:
            extra = _ci("fast_1_ci", g["fast_1_ci"]) if p == 1.0 else ""
            cells.append(_cell(f"fast_p.{p_key(p)}", g["fast_p"][p_key(p)], extra=extra))
        cells += [_cell("geomean_speedup", g["geomean_speedup"], "speedup"),
                  _cell("n_speedups", g["n_speedups"], "int"), _cell("no_code", g["no_code"], "int"),
                  _cell("compile_failed", g["compile_failed"], "int"),
                  _cell("load_failed", g["load_failed"], "int")]
        rows.append(f"<tr data-model='{e(g['model'])}' data-language='{e(g['language'])}'>{''.join(cells)}</tr>")
    return (f"<table class='sortable' id='board'><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _task_table(task_groups: list[dict]) -> str:
    e = html.escape
    rows = ["<table><thead><tr><th>task</th><th>language</th><th>n</th><th>pass@1</th><th>fast<sub>1</sub></th>"
            "<th>speed-up (geomean)</th></tr></thead><tbody>"]
    for g in task_groups:
        rows.append(f"<tr data-model='{e(g['model'])}' data-language='{e(g['language'])}' "
                    f"data-task='{e(g['task'])}'><td>{e(g['task'])}</td><td>{e(g['language'])}</td>"
                    f"{_cell('n_samples', g['n_samples'], 'int')}{_cell('pass_at_k.1', g['pass_at_k']['1'])}"
                    f"{_cell('fast_p.1', g['fast_p']['1'])}"
                    f"{_cell('geomean_speedup', g['geomean_speedup'], 'speedup')}</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _diagnosis_table(groups: list[dict]) -> str:
    e = html.escape
    codes = sorted({c for g in groups for c in g["diagnoses"]})
    if not codes:
        return "<p>No diagnosis in the turn-1 samples.</p>"
    head = "".join(f"<th>{e(g['language'])}</th>" for g in groups)
    rows = [f"<table><thead><tr><th>diagnosis (turn 1)</th>{head}</tr></thead><tbody>"]
    for code in codes:
        cells = "".join(f"<td class='num'>{g['diagnoses'].get(code, 0)}</td>" for g in groups)
        rows.append(f"<tr><td><code>{e(code)}</code></td>{cells}</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _samples_table(samples: list[tuple[int, dict]], links: dict[int, str | None], several_machines: bool) -> str:
    e = html.escape
    head = ["task", "language", "run", "sample", "turn", "verdict", "diagnoses", "speed-up"]
    if several_machines:
        head.append("machine")
    head.append("report")
    types = {"sample": "num", "turn": "num", "speed-up": "num"}
    rows = ["<table class='sortable samples'><thead><tr>"
            + "".join(f"<th data-type='{types.get(h, 'text')}'>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    for i, s in samples:
        link = links.get(i)
        if link:
            report = f"<a class='report' href='{e(link)}'>report</a>"
        elif s["verdict"] == "no_code":
            report = "no code in the answer"
        else:
            report = "\u2014"
        cells = [f"<td>{e(s['task'])}</td>", f"<td>{e(s['language'])}</td>",
                 f"<td>{e(Path(s['run']).name)}</td>",
                 _cell("sample", s["sample"], "int"), _cell("turn", s["turn"], "int"),
                 f"<td class='verdict {e(s['verdict'])}'>{e(s['verdict'])}</td>",
                 f"<td>{e(', '.join(s['diagnoses']) or '-')}</td>",
                 _cell("speedup", s["speedup"], "speedup")]
        if several_machines:
            cells.append(f"<td>{e(s['machine'] or '—')}</td>")
        cells.append(f"<td>{report}</td>")
        rows.append(f"<tr data-sample-index='{i}'>{''.join(cells)}</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _figure(svg: str | None, caption: str, missing: str) -> str:
    if svg is None:
        return f"<figure><p class='note'>{html.escape(missing)}</p><figcaption>{caption}</figcaption></figure>"
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


def render_html(payload: dict, report_links: dict[int, str | None], title: str = DEFAULT_TITLE) -> str:
    """The leaderboard page of a payload (:func:`board_payload`).

    Parameters
    ----------
    payload : dict
        The numbers to show.
    report_links : dict
        ``{index into payload["samples"]: relative URL of the sample's report or None}``.
    title : str, optional
        Title of the page.

    Returns
    -------
    str
        A self-contained page: no file or address outside it is loaded (the sample reports are links).
    """
    e = html.escape
    summary = payload["summary"]
    groups = summary["groups"]
    several = payload["several_machines"]
    model_ids = _model_ids(groups)
    colours = _colours(groups)
    n_samples = sum(g["n_samples"] for g in groups)
    runs = sorted({s["run"] for s in payload["samples"]})
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>",
             f"<p>{n_samples} single-shot samples of {len(model_ids)} model(s) in {len(groups)} model \u00d7 "
             f"language cell(s), from {len(runs)} run(s): {e(', '.join(runs))}.</p>"]
    for i in payload.get("incomplete") or []:
        parts.append(f"<p class='warn'>Partial: {i['unscored']} of the {i['samples']} samples of run "
                     f"{e(str(i['run']))} have no result yet and are left out of every figure.</p>")
    if several:
        parts.append(f"<p class='warn'>The samples were timed on {len(summary['machines'])} machines: "
                     f"{e('; '.join(summary['machines']))}. A speed-up is a ratio to the reference measured "
                     "on the sample's own machine; compare speed-ups only between rows timed on the same "
                     "machine (shown in the table).</p>")
    parts += ["<h2>Models \u00d7 languages</h2>",
              "<p class='note'>Single shot (turn 1 of every sample). pass@k: Chen et al.'s unbiased estimator "
              "averaged over the tasks, shown only where every task has at least k samples. fast<sub>p</sub>: "
              "fraction of samples that are correct and more than p times as fast as the reference "
              "(fast<sub>0</sub>: correct with a measured speed-up). Intervals: 95 % percentile bootstrap over "
              "the samples. A sample without code counts as a failure. Click a header to sort.</p>",
              _main_table(summary, model_ids, several)]
    import matplotlib

    # model names are text, never mathtext: a name with "$" must neither fail nor render as another name
    with matplotlib.rc_context({"text.parse_math": False}):
        parts += ["<h2>Plots</h2><div class='plots'>",
                  _figure(_plot_pass_at_k(groups, colours), "pass@k per model and language (k where every task "
                          "has n \u2265 k).", ""),
                  _figure(_plot_speedups(groups, colours), "Speed-ups of the correct single-shot samples (black: "
                          "geometric mean; red: as fast as the reference).",
                          "No correct sample has a measured speed-up."),
                  _figure(_plot_diagnoses(groups, colours), "Diagnoses of the single-shot samples per model, "
                          "by language.", "No single-shot sample has a diagnosis."),
                  _figure(_plot_turns(groups, colours), "pass@1 after t turns: a sample counts as solved once "
                          "any of its turns up to t passes.", ""),
                  "</div>"]
    task_groups = summary["task_groups"]
    for model, anchor in model_ids.items():
        mine = [g for g in groups if g["model"] == model]
        samples = [(i, s) for i, s in enumerate(payload["samples"]) if s["model"] == model]
        parts += [f"<section id='{anchor}'><h2>{e(model)}</h2>",
                  "<h3>Per task</h3>", _task_table([g for g in task_groups if g["model"] == model]),
                  "<h3>Diagnoses</h3>", _diagnosis_table(mine),
                  f"<h3>Samples ({len(samples)} turns)</h3>", _samples_table(samples, report_links, several),
                  "<p><a href='#board'>back to the table</a></p></section>"]
    data = json.dumps(payload, sort_keys=True).replace("<", "\\u003c")
    parts += [f"<script type='application/json' id='board-data'>{data}</script>",
              f"<script>{_SORT_JS}</script></body></html>"]
    return "\n".join(parts)


# --- sample reports ---------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _report_name(r: dict) -> Path:
    """Where a sample's report goes below the run's folder: its code file's place in the run, as ``.html``."""
    run, path = Path(str(r.get("run"))).resolve(), Path(str(r.get("path"))).resolve()
    try:
        rel = path.relative_to(run)
    except ValueError:
        rel = None
    if rel is None or not rel.parts:
        turn = f".turn{r['turn']}" if r["turn"] > 1 else ""
        parts = [_UNSAFE.sub("_", str(x)).lstrip(".") or "_" for x in (r["model"], r["task"], r["language"])]
        rel = Path(*parts, f"sample_{r['sample']:03d}{turn}.x")
    return rel.with_suffix(".html")


def write_sample_reports(records: Sequence[dict], load_result: Callable[[int], dict], folder: str | Path,
                         base: str | Path) -> dict[int, str | None]:
    """Write the report of every scored record and return the links, relative to ``base``.

    Parameters
    ----------
    records : sequence of dict
        Sample records, in the order of the payload's ``samples``.
    load_result : callable
        ``load_result(result_id) -> dict``: the full result of a record (``ResultsDB.result``).
    folder : str or Path
        Where the reports go: ``folder/<run>/<model_dir>/<task>/<language>/sample_000[.turnN].html``.
    base : str or Path
        The folder of the page that links to them.

    Returns
    -------
    dict
        ``{index into records: link or None}`` (None for a record without a result, e.g. no code).
        Samples that share a result (the same file's bytes) share the report of the first of them.
    """
    from .report_html import html_report

    folder, base = Path(folder), Path(base)
    run_dirs: dict[str, str] = {}
    used: set[Path] = set()
    links: dict[int, str | None] = {}
    written: dict = {}  # result id -> link: samples that are the same file share one report
    for i, r in enumerate(records):
        if r.get("result_id") is None:
            links[i] = None
            continue
        if r["result_id"] in written:
            links[i] = written[r["result_id"]]
            continue
        run = str(r.get("run"))
        if run not in run_dirs:
            name = _UNSAFE.sub("_", Path(run).name).lstrip(".") or "run"
            taken = set(run_dirs.values())
            unique, n = name, 2
            while unique in taken:
                unique, n = f"{name}-{n}", n + 1
            run_dirs[run] = unique
        target = folder / run_dirs[run] / _report_name(r)
        stem, n = target.with_suffix(""), 2
        while target in used:
            target, n = stem.with_name(f"{stem.name}-{n}.html"), n + 1
        used.add(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, html_report([load_result(r["result_id"])]))
        links[i] = written[r["result_id"]] = Path(os.path.relpath(target, base)).as_posix()
    return links


def build_board(records: Sequence[dict], load_result: Callable[[int], dict], out_html: str | Path,
                title: str = DEFAULT_TITLE, n_boot: int = N_BOOT, seed: int = 0,
                incomplete: Sequence[dict] = ()) -> dict:
    """Write the leaderboard page and the reports of its samples; return the payload shown.

    Parameters
    ----------
    records : sequence of dict
        Sample records of every turn (``ResultsDB.sample_records()``).
    load_result : callable
        ``load_result(result_id) -> dict``: the full result of a record (``ResultsDB.result``).
    out_html : str or Path
        The page; the sample reports go to the folder ``<stem>_reports`` next to it.
    title : str, optional
        Title of the page.
    n_boot, seed : int, optional
        Bootstrap resamples and seed of the intervals.
    incomplete : sequence of dict, optional
        Runs with samples that have no result (``run``, ``samples``, ``unscored``), which the page
        and the payload (``incomplete``) then name.

    Returns
    -------
    dict
        The payload (:func:`board_payload`), as embedded in the page.

    Raises
    ------
    ValueError
        When there is no record or a record is malformed.
    """
    out_html = Path(out_html)
    payload = board_payload(records, n_boot=n_boot, seed=seed, incomplete=incomplete)
    ordered = sorted(records, key=_sample_order)
    links = write_sample_reports(ordered, load_result, out_html.with_name(out_html.stem + "_reports"),
                                 out_html.resolve().parent)
    page = render_html(payload, links, title)
    write_atomic(out_html, page)
    return payload


# --- command line ---------------------------------------------------------------------------------------

def add_leaderboard_parser(subparsers) -> None:
    """Add ``leaderboard`` to the sub-commands of ``codegen-eval`` (run it with :func:`run_leaderboard`)."""
    lb = subparsers.add_parser(
        "leaderboard", help="models x languages from scored runs: an HTML page and JSON",
        description="Read the scoring database of each run (RUN/results.sqlite, written by "
                    "`codegen-eval score RUN`) and show pass@k, fast_p, speed-ups, diagnoses and the repair "
                    "curve of every model and language. Without --html or --json, prints a table.")
    lb.add_argument("runs", nargs="+", metavar="RUN", help="run folder written by `codegen-eval generate`")
    lb.add_argument("--html", metavar="PATH",
                    help="write the self-contained page here, and the sample reports to PATH's stem + _reports")
    lb.add_argument("--json", nargs="?", const="-", metavar="OUT",
                    help="print the numbers as JSON, or write them to OUT (put --json after the RUNs, or "
                         "write --json=OUT)")
    lb.add_argument("--db", action="append", metavar="PATH",
                    help="scoring database of a run (default RUN/results.sqlite); give it once per RUN, "
                         "in the order of the RUNs")
    lb.add_argument("--title", default=DEFAULT_TITLE, help="title of the page (default: %(default)s)")
    lb.add_argument("--partial", action="store_true",
                    help="show a run some of whose samples have no result yet (the page and the JSON say how "
                         "many); without it such a run is refused")


class _Runs:
    """The samples of each run folder as its database scored them, with one numbering of their results
    (ids are per database).

    A board shows exactly the samples on disk: rows of a database that are not samples of the run
    folder now (deleted or remade since, another run sharing the database, the run's old location)
    are left out and counted in ``left_out``; samples on disk without a result are counted in
    ``incomplete``.
    """

    def __init__(self, run_folders: list[str], dbs: list[str]):
        from .results_db import ResultsDB
        from .samples import iter_samples

        self.dbs = []
        self.records: list[dict] = []
        self._ids: list[tuple[object, int]] = []
        self.left_out = 0
        self.incomplete: list[dict] = []
        index: dict = {}  # (database, its result id) -> one number across the runs
        try:
            for run, db_path in zip(run_folders, dbs):
                db = ResultsDB(db_path)
                self.dbs.append(db)
                on_disk = {os.path.normpath(str((ref.code_path or ref.meta_path).resolve()))
                           for ref in iter_samples([run])}
                decided = set()
                for r in db.sample_records():
                    path = os.path.normpath(str(r["path"]))
                    if path not in on_disk or path in decided:
                        self.left_out += path not in on_disk
                        continue
                    decided.add(path)
                    r = dict(r)
                    if r.get("result_id") is not None:
                        key = (len(self.dbs) - 1, r["result_id"])
                        if key not in index:
                            index[key] = len(self._ids)
                            self._ids.append((db, r["result_id"]))
                        r["result_id"] = index[key]
                    self.records.append(r)
                if len(on_disk) > len(decided):
                    self.incomplete.append({"run": run, "samples": len(on_disk),
                                            "unscored": len(on_disk) - len(decided)})
        except BaseException:
            self.close()
            raise

    def result(self, index: int) -> dict:
        db, result_id = self._ids[index]
        return db.result(result_id)

    def close(self) -> None:
        for db in self.dbs:
            db.close()


def text_table(payload: dict) -> str:
    """The table of the page as plain text (``repaired``: pass@1 after the last repair turn, t of them)."""
    lines = [f"{'model':<28} {'language':<8} {'n':>4} {'pass@1':>7} {'95% CI':>13} {'repaired':>12} "
             f"{'fast_1':>7} {'speed-up':>9} {'no code':>7} {'compile':>7} {'load':>5}"]
    for g in payload["summary"]["groups"]:
        low, high = g["pass_at_1_ci"]
        sp = "-" if g["geomean_speedup"] is None else f"{g['geomean_speedup']:.2f}x"
        by_turn = g["pass_at_1_by_turn"]
        fast1 = "-" if g["fast_p"]["1"] is None else f"{g['fast_p']['1']:.3f}"
        repaired = f"{by_turn[-1]:.3f} (t={len(by_turn)})" if len(by_turn) > 1 else "-"
        lines.append(f"{g['model'][:28]:<28} {g['language']:<8} {g['n_samples']:>4} {g['pass_at_k']['1']:>7.3f} "
                     f"{f'[{low:.2f}, {high:.2f}]':>13} {repaired:>12} {fast1:>7} {sp:>9} "
                     f"{g['no_code']:>7} {g['compile_failed']:>7} {g['load_failed']:>5}")
    if payload["several_machines"]:
        lines.append("speed-ups were measured on several machines: "
                     + "; ".join(payload["summary"]["machines"]))
    return "\n".join(lines) + "\n"


def run_leaderboard(args) -> int:
    """Run ``codegen-eval leaderboard``; return the exit status (0 done, 1 harness error, 2 usage error)."""
    def fail(status: int, message: str) -> int:
        print(f"codegen-eval: error: {message}", file=sys.stderr)
        return status

    if args.db and len(args.db) != len(args.runs):
        return fail(2, f"--db was given {len(args.db)} time(s) for {len(args.runs)} RUN(s); give it once per "
                       "RUN, or not at all")
    dbs = args.db or [str(Path(run) / DB_NAME) for run in args.runs]
    for run, db in zip(args.runs, dbs):
        if not Path(run).is_dir():
            return fail(2, f"no run folder {run!r}")
        if not Path(db).is_file():
            return fail(2, f"no scoring database {db!r} for run {run!r}: run `codegen-eval score {run}` first")
    for out in (args.html, None if args.json in (None, "-") else args.json):
        if out and not Path(out).resolve().parent.is_dir():
            return fail(2, f"cannot write {out!r}: no folder {str(Path(out).resolve().parent)!r}")
    runs = None
    try:
        runs = _Runs(args.runs, dbs)
        if runs.left_out:
            print(f"codegen-eval: {runs.left_out} row(s) of the database are not samples of the run folder now "
                  "(deleted or remade since, another run, an old location): left out", file=sys.stderr)
        if not runs.records:
            return fail(1, f"no scored sample of {', '.join(map(repr, args.runs))} in {', '.join(map(repr, dbs))}")
        incomplete = runs.incomplete
        if incomplete and not args.partial:
            return fail(2, "; ".join(f"{i['unscored']} of the {i['samples']} samples of {i['run']!r} have no "
                                     "result (scoring stopped or not run yet)" for i in incomplete)
                        + ": finish with `codegen-eval score RUN`, or show what is scored with --partial")
        if args.html:
            payload = build_board(runs.records, runs.result, args.html, title=args.title, incomplete=incomplete)
        else:
            payload = board_payload(runs.records, incomplete=incomplete)
        text = json.dumps(payload, indent=1, sort_keys=True) + "\n"
        if args.json and args.json != "-":
            Path(args.json).write_text(text, encoding="utf-8")
        if args.json == "-":
            sys.stdout.write(text)
        else:
            sys.stdout.write(text_table(payload))
        written = [p for p in (args.html, None if args.json in (None, "-") else args.json) if p]
        if written:
            print("wrote " + ", ".join(written), file=sys.stderr if args.json == "-" else sys.stdout)
        return 0
    except (ValueError, OSError) as exc:
        return fail(1, str(exc))
    finally:
        if runs is not None:
            runs.close()
