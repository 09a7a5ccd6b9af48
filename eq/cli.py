"""The ``eq`` command line: files, pipes, responses and presets.

Examples
--------
::

    eq apply in.wav out.wav --preset vocal-presence
    ffmpeg -i in.mp3 -f s16le -ar 48000 -ac 2 - \\
        | eq stream --rate 48000 --channels 2 --format s16le --band peaking:3k:q=1:gain=4 \\
        | ffplay -f s16le -ar 48000 -ch_layout stereo -
    eq response --preset telephone --rate 16000
"""

import argparse
import importlib
import os
import sys

import numpy as np

from .design import check_sample_rate, parse_band
from .errors import EqError
from .formats import SAMPLE_FORMATS
from .presets import list_presets, load_preset

__all__ = ["main", "build_parser"]

BAND_HELP = (
    "a band TYPE:FREQ[:q=Q][:gain=DB], e.g. peaking:1k:q=1.4:gain=-3 or highpass:80 "
    "(FREQ in Hz, may end in k; q defaults to 0.707, gain to 0 dB; "
    "types: peaking, lowshelf, highshelf, lowpass, highpass, bandpass, notch, allpass). "
    "Repeat for more bands, applied in order."
)

READ_BYTES = 65536
"""Largest read from standard input; a read returns as soon as any data is there."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, as for every other error; the usage is a --help away.
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _band_arg(text):
    try:
        return parse_band(text)
    except EqError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_band_options(parser):
    group = parser.add_argument_group("bands (give --band one or more times, or --preset)")
    source = group.add_mutually_exclusive_group(required=True)
    source.add_argument("--band", "-b", action="append", type=_band_arg, metavar="SPEC",
                        help=BAND_HELP)
    source.add_argument("--preset", "-p", metavar="NAME|FILE",
                        help=f"a bundled preset ({', '.join(list_presets())}) "
                             "or a .json/.toml preset file")
    group.add_argument("--preamp", type=float, default=None, metavar="DB",
                       help="gain before the bands in dB (default: the preset's, else 0)")


def _bands_and_preamp(args):
    if args.preset is not None:
        preset = load_preset(args.preset)
        bands, preamp_db = preset.bands, preset.preamp_db
    else:
        bands, preamp_db = tuple(args.band), 0.0
    if args.preamp is not None:
        preamp_db = args.preamp
    return bands, preamp_db


def build_parser():
    """Return the ``argparse`` parser of the ``eq`` command."""
    parser = _Parser(
        prog="eq",
        description="Parametric equalizer (Audio EQ Cookbook biquads) for audio files "
                    "and raw PCM pipes.",
        epilog="Run 'eq COMMAND --help' for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)

    p = sub.add_parser("apply", help="equalize an audio file into a new file",
                       description="Equalize an audio file (WAV, FLAC, AIFF, OGG, ...) into a "
                                   "new file with the same rate, channels and sample type; "
                                   "integer samples are rounded to nearest and saturated.")
    p.add_argument("input", help="input audio file")
    p.add_argument("output", help="output audio file (its extension picks the container)")
    _add_band_options(p)
    p.add_argument("--subtype", help="output subtype such as PCM_16, PCM_24, FLOAT "
                                     "(default: the input's)")
    p.add_argument("--block-frames", type=int, default=65536, metavar="N",
                   help="frames per block (default: %(default)s)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: when standard error is a terminal)")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")

    p = sub.add_parser("batch", help="equalize several files into a folder, in parallel",
                       description="Equalize several audio files into OUT_DIR (same names), "
                                   "several at a time.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="input audio files")
    p.add_argument("--out-dir", "-o", required=True, metavar="DIR",
                   help="folder for the outputs (created if missing)")
    _add_band_options(p)
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="files at a time (default: the CPUs eq may run on)")
    p.add_argument("--subtype", help="output subtype (default: each input's)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")

    p = sub.add_parser("stream", help="equalize raw PCM from standard input to standard output",
                       description="Equalize raw interleaved PCM from standard input to "
                                   "standard output with zero added latency: every complete "
                                   "frame read is written at once.")
    p.add_argument("--rate", "-r", type=int, required=True, metavar="HZ", help="sample rate")
    p.add_argument("--channels", "-c", type=int, required=True, metavar="N",
                   help="interleaved channels")
    p.add_argument("--format", "-f", required=True, choices=list(SAMPLE_FORMATS),
                   metavar="FMT", help=f"sample format: {', '.join(SAMPLE_FORMATS)}")
    _add_band_options(p)
    p.add_argument("--quiet", "-q", action="store_true",
                   help="do not report saturated samples on standard error")

    p = sub.add_parser("response", help="print the magnitude response of bands or a preset",
                       description="Print the magnitude response (dB) at log-spaced "
                                   "frequencies, or at the given ones.")
    _add_band_options(p)
    p.add_argument("--rate", "-r", type=int, required=True, metavar="HZ", help="sample rate")
    p.add_argument("--points", type=int, default=31, metavar="N",
                   help="log-spaced frequencies from 20 Hz to Nyquist (default: %(default)s)")
    p.add_argument("--freq", type=float, action="append", metavar="HZ",
                   help="evaluate at this frequency (repeatable)")
    p.add_argument("--plot", metavar="PNG", help="also save a plot (needs matplotlib)")

    p = sub.add_parser("presets", help="list the bundled presets",
                       description="List the bundled presets, or show one.")
    p.add_argument("name", nargs="?", help="show this preset's bands")
    return parser


def _cmd_apply(args):
    from .files import equalize_file

    bands, preamp_db = _bands_and_preamp(args)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    report = equalize_file(args.input, args.output, bands, preamp_db,
                           block_frames=args.block_frames, progress=progress,
                           subtype=args.subtype)
    if not args.quiet:
        print(f"wrote {report.out_path}: {report.duration_s:.2f} s, {report.sample_rate} Hz, "
              f"{report.channels} ch, {report.subtype}; peak {report.peak_dbfs:.2f} dBFS; "
              f"{report.clipped_samples} sample(s) clipped")
        if report.clipped_samples:
            print("eq: warning: output clipped; lower --preamp to leave headroom",
                  file=sys.stderr)
    return 0


def _cmd_batch(args):
    from .files import equalize_files

    bands, preamp_db = _bands_and_preamp(args)
    os.makedirs(args.out_dir, exist_ok=True)
    pairs = [(path, os.path.join(args.out_dir, os.path.basename(path))) for path in args.inputs]
    outputs = [out for _, out in pairs]
    if len(set(outputs)) != len(outputs):
        raise EqError("two inputs have the same file name; their outputs would collide in "
                      f"{args.out_dir!r}")
    status = 0
    for (path, out), result in zip(pairs, equalize_files(pairs, bands, preamp_db,
                                                          jobs=args.jobs, subtype=args.subtype)):
        if isinstance(result, Exception):
            print(f"eq: error: {path}: {result}", file=sys.stderr)
            status = 1
        elif not args.quiet:
            print(f"wrote {out}: {result.duration_s:.2f} s, {result.clipped_samples} "
                  "sample(s) clipped")
    return status


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _cmd_stream(args):
    from .streaming import StreamingEqualizer

    bands, preamp_db = _bands_and_preamp(args)
    stream = StreamingEqualizer(args.rate, args.channels, args.format, bands, preamp_db)
    if sys.stdin is None or sys.stdout is None:
        raise EqError("eq stream needs an open standard input and standard output")
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout.flush()
    while True:
        chunk = os.read(in_fd, READ_BYTES)
        if not chunk:
            break
        out = stream.process(chunk)
        if out:
            _write_all(out_fd, out)
    try:
        stream.flush()
    finally:
        if stream.clipped_samples and not args.quiet:
            print(f"eq: warning: {stream.clipped_samples} sample(s) saturated",
                  file=sys.stderr)
    return 0


def _cmd_response(args):
    bands, preamp_db = _bands_and_preamp(args)
    from .design import frequency_response_db

    rate = check_sample_rate(args.rate)
    nyquist = rate / 2.0
    if args.freq:
        freqs = np.asarray(args.freq, dtype=float)
    else:
        if args.points < 2:
            raise EqError(f"--points must be >= 2, got {args.points!r}")
        freqs = np.geomspace(min(20.0, nyquist / 2.0), nyquist, args.points)
    bad = freqs[~((freqs >= 0) & (freqs <= nyquist))]
    if bad.size:
        raise EqError(f"frequency {float(bad[0])!r} Hz is outside 0 .. {nyquist!r} Hz (Nyquist)")
    if args.plot and os.path.splitext(args.plot)[1].lower() not in (".png", ".svg", ".pdf"):
        raise EqError(f"--plot {args.plot!r}: the file name must end in .png, .svg or .pdf")
    gains_db = frequency_response_db(bands, rate, freqs, preamp_db)
    print(f"{'freq_hz':>10}  {'gain_db':>8}")
    for f, g in zip(freqs, gains_db):
        print(f"{f:10.1f}  {round(g, 2) + 0.0:8.2f}")  # + 0.0: no "-0.00"
    if args.plot:
        _plot_response(bands, preamp_db, rate, args.plot)
    return 0


def _plot_response(bands, preamp_db, sample_rate, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise EqError("--plot needs matplotlib: pip install 'eq-stream[plot]'") from None
    from .design import frequency_response_db

    freqs = np.geomspace(10.0, sample_rate / 2.0, 1000)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.semilogx(freqs, frequency_response_db(bands, sample_rate, freqs, preamp_db))
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("gain (dB)")
    ax.set_title(", ".join(b.spec() for b in bands) or "flat", fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _cmd_presets(args):
    if args.name:
        preset = load_preset(args.name)
        print(f"{preset.name}: {preset.description}")
        print(f"  preamp {preset.preamp_db:+g} dB")
        for band in preset.bands:
            print(f"  --band {band.spec()}")
        return 0
    for name in list_presets():
        print(f"{name:18} {load_preset(name).description}")
    return 0


_COMMANDS = {"apply": _cmd_apply, "batch": _cmd_batch, "stream": _cmd_stream, "response": _cmd_response,
             "presets": _cmd_presets}


_compile_noticed = []


def _print_compile_notice():
    if not _compile_noticed:  # once, even if several threads wait for the compiler
        _compile_noticed.append(True)
        print("eq: compiling the kernels for this machine (once; about half a minute on a small "
              "machine, then cached)...", file=sys.stderr, flush=True)


def _skip_numba_blas_probe():
    """Spare the first kernel call numba's check for a BLAS, about 0.3-0.5 s.

    Loading the first compiled kernel makes numba import its array-math
    module, which imports ``scipy.linalg`` only to learn whether ``np.dot``
    can be compiled. The kernels use no BLAS, so for this process the probe
    is answered "no" (numba then refuses to compile ``np.dot``; nothing here
    does). ``scipy.linalg`` stays importable as usual afterwards.
    """
    name = "scipy.linalg.cython_blas"
    if name in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules[name] = None  # makes "import scipy.linalg.cython_blas" raise ImportError
    try:
        importlib.import_module("numba.np.arraymath")  # runs the probe once
    except ImportError:
        pass
    finally:
        del sys.modules[name]


def main(argv=None):
    """Run the ``eq`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("apply", "batch", "stream"):
        _skip_numba_blas_probe()
        from . import streaming

        streaming.compile_notice = _print_compile_notice
    try:
        return _COMMANDS[args.command](args)
    except EqError as exc:
        print(f"eq: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `eq stream ... | head -c 100`): stop quietly.
        try:
            sys.stdout = None
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        except OSError:
            pass
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"eq: error: {exc}", file=sys.stderr)
        return 1
