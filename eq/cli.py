"""The ``eq`` command line: files, pipes, responses and presets.

Examples
--------
::

    eq apply in.wav out.wav --preset vocal-presence --band lowshelf:100:gain=2
    curl -s https://example.org/in.wav | eq apply - - --band highpass:80 > out.wav
    ffmpeg -i in.mp3 -f s16le -ar 48000 -ac 2 - \\
        | eq stream --rate 48000 --channels 2 --format s16le --band peaking:3k:q=1:gain=4 \\
        | ffplay -f s16le -ar 48000 -ch_layout stereo -
    eq response --preset telephone --rate 16000 --plot telephone.png
    eq apply in.wav out.wav --preset ParametricEQ.txt --auto-preamp
    ffmpeg -i in.wav -af "$(eq export --to ffmpeg --preset camilladsp.yml)" out.wav

Exit status: 0 on success; 1 when the job failed on its input or output (see
:func:`exit_status`); 2 when the command line, or a value on it, is invalid.
"""

import argparse
import contextlib
import importlib
import math
import os
import sys
import threading

import numpy as np

from ._changes import DEFAULT_RAMP_MS
from .design import GAIN_BAND_TYPES, check_sample_rate, parse_band
from .errors import AudioFileError, EqError, InvalidParameterError, InvalidTypeError, PresetError
from .formats import SAMPLE_FORMATS
from .export import EXPORT_FORMATS
from .presets import list_presets, load_preset

__all__ = ["main", "build_parser", "exit_status"]

BAND_HELP = (
    "a band TYPE:FREQ[:q=Q|bw=OCT|s=S|slope=DB][:gain=DB], e.g. peaking:1k:q=1.4:gain=-3 or "
    "highpass:80 (FREQ in Hz, may end in k, below Nyquist; q defaults to 0.707, gain to 0 dB; "
    "bw: width in octaves; s, slope: shelf slope, S or dB per octave; "
    "types: peaking, lowshelf, highshelf, lowpass, highpass, bandpass, notch, allpass). "
    "Repeat for more bands, applied in order, after the preset's."
)

EXIT_STATUS_HELP = """\
exit status:
  0  success
  1  the job failed on its input or output: an audio file that cannot be
     read or written, a file or stream that ends early, a plot that cannot
     be saved (eq batch: a file failed, the others went on)
  2  the command line is invalid: an unknown option, or a bad value on it
     (a band, also one at or above the file's Nyquist, a preset, a rate,
     channels, a format, a subtype)

A preset's band at or above Nyquist is dropped, with a notice on standard
error; a --band at or above Nyquist is an error."""

READ_BYTES = 65536
"""Largest read from standard input; a read returns as soon as any data is there."""

STDIN_NAME = "<stdin>"
STDOUT_NAME = "<stdout>"

_USAGE_ERRORS = (InvalidParameterError, InvalidTypeError, PresetError)


def exit_status(exc):
    """The exit status of the command that raised `exc`.

    2 for a bad value given on the command line (a band, preset, rate,
    format, subtype, ...: :class:`~eq.errors.InvalidParameterError`,
    :class:`~eq.errors.InvalidTypeError`, :class:`~eq.errors.PresetError`),
    1 for a job that failed on its input or output (any other error, such as
    :class:`~eq.errors.AudioFileError` or an input that ends inside a frame).
    """
    return 2 if isinstance(exc, _USAGE_ERRORS) else 1


class _Parser(argparse.ArgumentParser):
    commands = None
    """Of the ``eq`` parser: the parser of each command, by name."""

    def parse_args(self, args=None, namespace=None):
        args, extras = self.parse_known_args(args, namespace)
        if extras:  # name the command they were given to, as for its other errors
            parser = (self.commands or {}).get(getattr(args, "command", None), self)
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        return args

    def error(self, message):
        # One line, as for every other error; the usage is a --help away.
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions; keeps text with line breaks of its own (the exit status) as written."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _VersionAction(argparse.Action):
    """``--version``: prints ``eq`` and the installed version (:data:`eq.__version__`)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="print the version of eq-stream and exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"eq {__version__}")
        parser.exit(0)


def _band_arg(text):
    try:
        return parse_band(text)
    except EqError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _db_arg(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number of dB, got {text!r}")
    return value


def human_number(value, digits=3):
    """`value` for reading: `digits` significant digits, all of the integer part, no exponent.

    Examples
    --------
    >>> human_number(0.7071067811865475), human_number(12345.6), human_number(-2.0)
    ('0.707', '12346', '-2')
    """
    if value == 0 or not math.isfinite(value):
        return f"{value + 0.0:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{round(value, decimals):.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def band_text(band):
    """A band for reading, e.g. ``highshelf 10000 Hz, q 0.707, gain +2 dB``."""
    width = (f"q {human_number(band.q)}" if band.bw_oct is None
             else f"bw {human_number(band.bw_oct)} oct")
    text = f"{band.type} {human_number(band.freq_hz)} Hz, {width}"
    if band.type in GAIN_BAND_TYPES:
        sign = "+" if band.gain_db > 0 else ""
        text += f", gain {sign}{human_number(band.gain_db)} dB"
    if band.channels is not None:
        text += f", channels {','.join(str(c) for c in band.channels)}"
    return text


def _add_band_options(parser, auto_preamp=False):
    group = parser.add_argument_group(
        "bands (--band one or more times, --preset, or both: the preset's bands come first)")
    group.add_argument("--band", "-b", action="append", type=_band_arg, metavar="SPEC",
                       help=BAND_HELP)
    group.add_argument("--preset", "-p", metavar="NAME|FILE",
                       help=f"a bundled preset ({', '.join(list_presets())}) "
                            "or a preset file: .json/.toml, .txt (Equalizer APO, AutoEQ's "
                            "ParametricEQ.txt) or .yml/.yaml (CamillaDSP); its bands at or "
                            "above Nyquist are dropped, with a notice")
    group.add_argument("--preamp", type=_db_arg, default=0.0, metavar="DB",
                       help="gain before the bands in dB, added to the preset's preamp "
                            "(default: 0)")
    if auto_preamp:
        group.add_argument("--auto-preamp", action="store_true",
                           help="instead of the preset's preamp and --preamp, the preamp that "
                                "keeps the response's maximum at 0 dB (AutoEQ's rule), found "
                                "on a dense log grid up to Nyquist at the sample rate")


def _seed_arg(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value < 2 ** 52:
        raise argparse.ArgumentTypeError(f"the seed must be from 0 to 2**52 - 1, got {value}")
    return value


def _add_dither_options(parser):
    parser.add_argument("--dither", choices=("none", "tpdf"), default="none",
                        help="tpdf: add triangular dither (+-1 LSB) before rounding to an integer "
                             "format, reproducible from --dither-seed; default none (the exact "
                             "rounding)")
    parser.add_argument("--dither-seed", type=_seed_arg, default=0, metavar="N",
                        help="seed of the dither noise (default 0)")


def _add_command(sub, name, **kwargs):
    return sub.add_parser(name, epilog=EXIT_STATUS_HELP,
                          formatter_class=_HelpFormatter, **kwargs)


def build_parser():
    """Return the ``argparse`` parser of the ``eq`` command."""
    parser = _Parser(
        prog="eq",
        description="Parametric equalizer (Audio EQ Cookbook biquads) for audio files "
                    "and raw PCM pipes.",
        epilog="Run 'eq COMMAND --help' for the options of a command.\n\n" + EXIT_STATUS_HELP,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)

    p = _add_command(sub, "apply", help="equalize an audio file into a new file",
                     description="Equalize an audio file (WAV, FLAC, AIFF, OGG, ...) into a "
                                 "new file with the same rate, channels and sample type; "
                                 "integer samples are rounded to nearest and saturated, float "
                                 "samples are kept as they are, also beyond full scale. "
                                 "'-' as INPUT reads a whole audio file from standard input; "
                                 "'-' as OUTPUT writes one to standard output (in the "
                                 "container of --type, by default the input's), and the "
                                 "summary then goes to standard error.")
    p.add_argument("input", help="input audio file, or - for standard input")
    p.add_argument("output", help="output audio file (its extension picks the container), "
                                  "or - for standard output")
    _add_band_options(p, auto_preamp=True)
    p.add_argument("--type", "-t", metavar="TYPE",
                   help="container written to standard output with OUTPUT '-': wav, flac, "
                        "aiff, ogg, ... (default: the input's)")
    p.add_argument("--subtype", help="output subtype such as PCM_16, PCM_24, FLOAT "
                                     "(default: the input's)")
    _add_dither_options(p)
    p.add_argument("--allow-truncated", action="store_true",
                   help="equalize the frames there are when the input ends before its "
                        "header says (default: an error)")
    p.add_argument("--block-frames", type=int, default=65536, metavar="N",
                   help="frames per block (default: %(default)s)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show a progress bar (default: when standard error is a terminal)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print nothing on success (no summary, notices or warnings)")

    p = _add_command(sub, "batch", help="equalize several files into a folder, in parallel",
                     description="Equalize several audio files into OUT_DIR (same names), "
                                 "several at a time. A file that fails is reported and the "
                                 "others go on.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="input audio files")
    p.add_argument("--out-dir", "-o", required=True, metavar="DIR",
                   help="folder for the outputs (created if missing)")
    _add_band_options(p)
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="files at a time (default: the CPUs eq may run on)")
    p.add_argument("--subtype", help="output subtype (default: each input's)")
    _add_dither_options(p)
    p.add_argument("--allow-truncated", action="store_true",
                   help="equalize the frames there are when an input ends before its "
                        "header says (default: that file fails)")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")

    p = _add_command(sub, "stream",
                     help="equalize raw PCM from standard input to standard output",
                     description="Equalize raw interleaved PCM from standard input to "
                                 "standard output with zero added latency: every complete "
                                 "frame read is written at once.")
    p.add_argument("--rate", "-r", type=int, required=True, metavar="HZ", help="sample rate")
    p.add_argument("--channels", "-c", type=int, required=True, metavar="N",
                   help="interleaved channels")
    p.add_argument("--format", "-f", required=True, choices=list(SAMPLE_FORMATS),
                   metavar="FMT", help=f"sample format: {', '.join(SAMPLE_FORMATS)}")
    _add_band_options(p, auto_preamp=True)
    p.add_argument("--control", metavar="PATH",
                   help="a named pipe or file of JSON lines, each a change of bands applied at "
                        'the next frame with a crossfade: {"bands": ["peaking:1k:gain=3"], '
                        '"ramp_ms": 20} or {"index": 0, "band": "...", "ramp_ms": 20} (and '
                        '"preamp_db"); each change is logged on standard error with its '
                        "frame, a bad line is reported and ignored")
    _add_dither_options(p)
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print no notices and do not report saturated samples on "
                        "standard error")

    p = _add_command(sub, "video",
                     help="equalize raw planar 8-bit video from standard input to standard "
                          "output, as ffmpeg's eq filter does",
                     description="Equalize raw planar video (gray, yuv420p, yuv422p, "
                                 "yuv444p, yuva420p, yuva444p) from standard input to standard "
                                 "output, bit-exact with ffmpeg's eq filter: every byte read is "
                                 "written at once, whatever the chunking. Example: ffmpeg -i "
                                 "in.mp4 -f rawvideo -pix_fmt yuv420p - | eq video --size "
                                 "1280x720 --pix-fmt yuv420p --contrast 1.2 | ffmpeg -f rawvideo "
                                 "-pix_fmt yuv420p -s 1280x720 -r 25 -i - out.mkv")
    p.add_argument("--size", "-s", required=True, type=_size_arg, metavar="WxH",
                   help="frame size in pixels, e.g. 1280x720")
    p.add_argument("--pix-fmt", required=True, metavar="FMT",
                   help="pixel format: gray, yuv420p, yuv422p, yuv444p, yuva420p, yuva444p")
    for name, default, limits in (("contrast", 1.0, "-1000..1000"), ("brightness", 0.0, "-1..1"),
                                  ("saturation", 1.0, "0..3"), ("gamma", 1.0, "0.1..10"),
                                  ("gamma-r", 1.0, "0.1..10"), ("gamma-g", 1.0, "0.1..10"),
                                  ("gamma-b", 1.0, "0.1..10"), ("gamma-weight", 1.0, "0..1")):
        p.add_argument(f"--{name}", type=float, default=default, metavar="X",
                       help=f"as ffmpeg's eq {name.replace('-', '_')} ({limits}, "
                            "default %(default)s)")

    p = _add_command(sub, "response",
                     help="print the magnitude response of bands or a preset",
                     description="Print the magnitude response (dB) at log-spaced "
                                 "frequencies and at each band's own frequency, or at the "
                                 "given ones; optionally save a plot.")
    _add_band_options(p)
    p.add_argument("--rate", "-r", type=int, required=True, metavar="HZ", help="sample rate")
    p.add_argument("--points", type=int, default=31, metavar="N",
                   help="log-spaced frequencies from 20 Hz to Nyquist, to which each band's "
                        "frequency is added (default: %(default)s)")
    p.add_argument("--freq", type=float, action="append", metavar="HZ",
                   help="evaluate at this frequency only (repeatable)")
    p.add_argument("--plot", metavar="PNG",
                   help="also save a plot (.png, .svg or .pdf; needs matplotlib)")
    p.add_argument("--channels", "-c", type=int, default=None, metavar="N",
                   help="channels of the stream, for bands on some channels: a column and a "
                        "curve per group of channels with the same bands (default 2 when a "
                        "band selects channels, else 1)")

    p = _add_command(sub, "presets", help="list the bundled presets, or show one",
                     description="List the bundled presets, or show one preset's bands "
                                 "(a bundled name or a .json/.toml file).")
    p.add_argument("name", nargs="?", metavar="NAME|FILE", help="show this preset's bands")

    p = _add_command(sub, "export", help="write bands or a preset for another tool",
                     description="Write the bands and preamp as an Equalizer APO configuration "
                                 "(apo), a CamillaDSP configuration (camilladsp), the value of "
                                 "ffmpeg's -af (ffmpeg) or sox effects (sox). Each band becomes "
                                 "the same cookbook filter in the target.")
    p.add_argument("--to", required=True, choices=EXPORT_FORMATS, help="the target")
    _add_band_options(p, auto_preamp=True)
    p.add_argument("--rate", "-r", type=int, metavar="HZ",
                   help="sample rate the export is for: a preset's bands at or above its "
                        "Nyquist are dropped, a --band there is an error; also the rate of "
                        "--auto-preamp (default: no check, and 48000 for --auto-preamp)")
    p.add_argument("--channels", "-c", type=int, default=2, metavar="N",
                   help="channels of the stream: CamillaDSP's pipeline, the layout that names "
                        "channels for ffmpeg (c=FL...), and the channels --auto-preamp looks at "
                        "(default: %(default)s)")
    p.add_argument("--output", "-o", metavar="FILE", help="write here (default: standard output)")
    parser.commands = dict(sub.choices)
    return parser


def _notice(args, text):
    if not getattr(args, "quiet", False):
        print(f"eq {args.command}: notice: {text}", file=sys.stderr)


def _dropped_notice(args, band, sample_rate, where=""):
    _notice(args, f"{where}preset band {band_text(band)} is at or above Nyquist at "
                  f"{sample_rate} Hz ({human_number(sample_rate / 2.0)} Hz): dropped")


def _bands_and_preamp(args):
    """``(preset bands, --band bands, preamp in dB)`` of the command line."""
    preset_bands, preamp_db = (), 0.0
    if args.preset is not None:
        preset = load_preset(args.preset)
        preset_bands, preamp_db = preset.bands, preset.preamp_db
    extra_bands = tuple(args.band or ())
    if args.preset is None and not extra_bands:
        raise InvalidParameterError("no bands: give --band one or more times, --preset, or both")
    if getattr(args, "auto_preamp", False) and args.preamp:
        raise InvalidParameterError("--auto-preamp sets the preamp: give it or --preamp, not both")
    return preset_bands, extra_bands, preamp_db + args.preamp


def _auto_preamp(args, bands, sample_rate, preamp_db, channels=None):
    """`preamp_db`, or with --auto-preamp the one that keeps the response's peak at 0 dB
    (on every channel: `channels`, else --channels where the command has it)."""
    if not args.auto_preamp:
        return preamp_db
    from .response import auto_preamp_db

    if channels is None:
        channels = getattr(args, "channels", None)
    preamp_db = auto_preamp_db(bands, sample_rate, channels=channels)
    _notice(args, f"--auto-preamp: preamp {preamp_db:.2f} dB at {sample_rate} Hz")
    return preamp_db


def _check_below_nyquist(bands, sample_rate, where=""):
    """Raise for a --band at or above Nyquist: unlike a preset's, it is not dropped."""
    for band in bands:
        try:
            band.check_rate(sample_rate)
        except InvalidParameterError as exc:
            raise InvalidParameterError(
                f"{where}{exc}; unlike a preset's bands, a --band is not dropped") from None


def _audio_info(path):
    """soundfile's description of `path`, or None where it cannot be read (the job says why)."""
    import soundfile as sf

    try:
        return sf.info(path)
    except (sf.LibsndfileError, RuntimeError, OSError):
        return None


def _summary(report, out_name):
    text = (f"wrote {out_name}: {report.duration_s:.2f} s, {report.sample_rate} Hz, "
            f"{report.channels} ch, {report.subtype}; peak {report.peak_dbfs:.2f} dBFS")
    if report.clipped_samples:
        text += f"; {report.clipped_samples} sample(s) clipped"
    if report.over_full_scale_samples:
        text += (f"; {report.over_full_scale_samples} sample(s) exceed full scale "
                 "(kept, not clipped)")
    return text


def _report_notices(args, report, in_name, where=""):
    for band in report.dropped_bands:
        _dropped_notice(args, band, report.sample_rate, where)
    if report.truncated:
        expected = "" if report.frames_expected is None else f" of {report.frames_expected}"
        _notice(args, f"{in_name} ended early: equalized the {report.frames}{expected} "
                      "frame(s) it has")


def _spool_stdin(path):
    """Copy all of standard input into the file `path` (a WAV header needs seeking)."""
    import shutil

    if sys.stdin is None:
        raise AudioFileError("input '-' needs an open standard input")
    with open(path, "wb") as spool:
        shutil.copyfileobj(sys.stdin.buffer, spool, READ_BYTES)


def _copy_to_stdout(path):
    import shutil

    sys.stdout.flush()
    with open(path, "rb") as src:
        shutil.copyfileobj(src, sys.stdout.buffer, READ_BYTES)
    sys.stdout.buffer.flush()


def _output_type(args, info):
    """Extension of the file spooled for output '-': --type, else the input's container."""
    from .files import container_for_extension, known_extensions

    if args.type is None:
        return (info.format if info is not None else "WAV").lower()
    if container_for_extension(args.type) is None:
        raise InvalidParameterError(
            f"--type {args.type!r} is not a container eq can write; expected one of "
            f"{', '.join(known_extensions())}")
    return args.type.lower().lstrip(".")


def _cmd_apply(args):
    import tempfile

    from .files import equalize_file

    preset_bands, extra_bands, preamp_db = _bands_and_preamp(args)
    to_stdout = args.output == "-"
    if args.type is not None and not to_stdout:
        raise InvalidParameterError(
            f"--type is for output '-' (standard output); the extension of {args.output!r} "
            "picks its container")
    if to_stdout and sys.stdout is not None and sys.stdout.isatty():
        raise InvalidParameterError("output '-' would write audio to a terminal; redirect "
                                    "standard output to a file or a pipe")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    names = args.display_names
    with tempfile.TemporaryDirectory(prefix="eq-apply-") as spool:
        in_path, out_path = args.input, args.output
        if in_path == "-":
            in_path = os.path.join(spool, "stdin")
            names[in_path] = STDIN_NAME
            _spool_stdin(in_path)
        info = _audio_info(in_path)
        if info is not None:
            _check_below_nyquist(extra_bands, info.samplerate)
            if args.auto_preamp:
                from .design import bands_below_nyquist

                kept = bands_below_nyquist(preset_bands, info.samplerate)[0] + extra_bands
                preamp_db = _auto_preamp(args, kept, info.samplerate, preamp_db, info.channels)
        if to_stdout:
            out_path = os.path.join(spool, "stdout." + _output_type(args, info))
            names[out_path] = STDOUT_NAME
        report = equalize_file(in_path, out_path, preset_bands + extra_bands, preamp_db,
                               block_frames=args.block_frames, progress=progress,
                               subtype=args.subtype, allow_truncated=args.allow_truncated,
                               nyquist="drop" if args.preset is not None else "error",
                               dither=args.dither, dither_seed=args.dither_seed)
        if to_stdout:
            _copy_to_stdout(out_path)
    _report_notices(args, report, names.get(in_path, in_path))
    if not args.quiet:
        print(_summary(report, names.get(out_path, out_path)),
              file=sys.stderr if to_stdout else sys.stdout)
        if report.clipped_samples:
            print("eq apply: warning: output clipped; lower --preamp to leave headroom",
                  file=sys.stderr)
    return 0


def _cmd_batch(args):
    from .files import equalize_files

    preset_bands, extra_bands, preamp_db = _bands_and_preamp(args)
    if "-" in args.inputs:
        raise InvalidParameterError("eq batch reads files, not standard input; "
                                    "use 'eq apply - OUTPUT' for that")
    pairs = [(path, os.path.join(args.out_dir, os.path.basename(path))) for path in args.inputs]
    outputs = [out for _, out in pairs]
    if len(set(outputs)) != len(outputs):
        raise InvalidParameterError("two inputs have the same file name; their outputs would "
                                    f"collide in {args.out_dir!r}")
    for path in args.inputs if extra_bands else ():  # a preset's bands are dropped, not refused
        info = _audio_info(path)
        if info is not None:
            _check_below_nyquist(extra_bands, info.samplerate, where=f"{path}: ")
    os.makedirs(args.out_dir, exist_ok=True)
    status = 0
    outcomes = equalize_files(pairs, preset_bands + extra_bands, preamp_db, jobs=args.jobs,
                              subtype=args.subtype, allow_truncated=args.allow_truncated,
                              nyquist="drop" if args.preset is not None else "error",
                              dither=args.dither, dither_seed=args.dither_seed)
    for outcome in outcomes:
        if not outcome.ok:
            message = str(outcome.error)
            if str(outcome.in_path) not in message:
                message = f"{outcome.in_path}: {message}"
            print(f"eq batch: error: {message}", file=sys.stderr)
            status = max(status, exit_status(outcome.error))
            continue
        report = outcome.report
        _report_notices(args, report, outcome.in_path, where=f"{outcome.in_path}: ")
        if not args.quiet:
            print(_summary(report, outcome.out_path))
    return status


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _pipe(process, lock):
    """Standard input to standard output through `process`, a read at a time, each call
    under `lock` (a change of bands may come from another thread between two calls)."""
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    sys.stdout.flush()
    while True:
        chunk = os.read(in_fd, READ_BYTES)
        if not chunk:
            return
        with lock:
            out = process(chunk)
        if out:
            _write_all(out_fd, out)


def _kept_bands(args, preset_bands, extra_bands, sample_rate):
    """The bands to run at `sample_rate`: the preset's below Nyquist (notices for the
    others), then the --band ones (an error if one is not below Nyquist)."""
    from .design import bands_below_nyquist

    _check_below_nyquist(extra_bands, sample_rate)
    kept, dropped = bands_below_nyquist(preset_bands, sample_rate)
    for band in dropped:
        _dropped_notice(args, band, sample_rate)
    return tuple(kept) + extra_bands


def _cmd_stream(args):
    from .streaming import StreamingEqualizer

    preset_bands, extra_bands, preamp_db = _bands_and_preamp(args)
    rate = check_sample_rate(args.rate)
    bands = _kept_bands(args, preset_bands, extra_bands, rate)
    preamp_db = _auto_preamp(args, bands, rate, preamp_db)
    stream = StreamingEqualizer(rate, args.channels, args.format, bands, preamp_db,
                                dither=None if args.dither == "none" else args.dither,
                                dither_seed=args.dither_seed)
    if sys.stdin is None or sys.stdout is None:
        raise InvalidParameterError("eq stream needs an open standard input and standard output")
    lock = threading.Lock()  # changes arrive in the control thread, between two chunks
    if args.control:
        stream._engine.mix_kernel()  # compiled or loaded now, not at the first change
        _start_control(args.control, stream, lock)
    _pipe(stream.process, lock)
    try:
        stream.flush()
    finally:
        if stream.clipped_samples and not args.quiet:
            print(f"eq stream: warning: {stream.clipped_samples} sample(s) saturated",
                  file=sys.stderr)
    return 0


def _size_arg(text):
    width, sep, height = text.lower().partition("x")
    try:
        if not sep:
            raise ValueError
        return int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 1280x720") from None


def _cmd_video(args):
    from .video import StreamingVideoEqualizer

    width, height = args.size
    video = StreamingVideoEqualizer(
        width, height, args.pix_fmt, brightness=args.brightness, contrast=args.contrast,
        saturation=args.saturation, gamma=args.gamma, gamma_r=args.gamma_r,
        gamma_g=args.gamma_g, gamma_b=args.gamma_b, gamma_weight=args.gamma_weight)
    if sys.stdin is None or sys.stdout is None:
        raise InvalidParameterError("eq video needs an open standard input and standard output")
    _pipe(video.process, contextlib.nullcontext())
    video.flush()  # raises if the stream ended inside a frame (every byte was written)
    return 0


def _start_control(path, stream, lock):
    """Read changes from `path` (:mod:`eq.control`) and set them on `stream`, logging each."""
    from .control import ControlReader, parse_control_line

    def log(text):
        print(f"eq stream: {text}", file=sys.stderr, flush=True)

    def on_line(number, text):
        where = f"control line {number}"
        try:
            change = parse_control_line(text)
            ramp_ms = change["ramp_ms"] if change["ramp_ms"] is not None else DEFAULT_RAMP_MS
            with lock:
                if change["bands"] is not None:
                    frame = stream.set_bands(change["bands"], ramp_ms=ramp_ms,
                                             preamp_db=change["preamp_db"])
                else:
                    if change["preamp_db"] is not None:
                        raise InvalidParameterError("'preamp_db' goes with 'bands', not 'index'")
                    frame = stream.set_band(change["index"], change["band"], ramp_ms=ramp_ms)
                _, bands, preamp_db = stream.pending_changes[-1]  # the change just set: it is due last
        except EqError as exc:
            log(f"{where}: {exc}; ignored")
            return
        described = "; ".join(band_text(b) for b in bands) or "no bands"
        log(f"{where}: change at frame {frame}, ramp {human_number(ramp_ms)} ms: "
            f"preamp {human_number(preamp_db)} dB; {described}")

    ControlReader(path, on_line, log).start()


def _cmd_response(args):
    from ._engine import check_channels
    from .channels import channel_names
    from .design import channel_groups, frequency_response_db
    from .response import check_plot_path, default_channels, save_response_plot, table_freqs_hz

    preset_bands, extra_bands, preamp_db = _bands_and_preamp(args)
    rate = check_sample_rate(args.rate)
    bands = _kept_bands(args, preset_bands, extra_bands, rate)
    nyquist = rate / 2.0
    if args.freq:
        freqs = np.asarray(args.freq, dtype=float)
    else:
        freqs = table_freqs_hz(bands, rate, args.points)
    bad = freqs[~((freqs >= 0) & (freqs <= nyquist))]
    if bad.size:
        raise InvalidParameterError(
            f"frequency {float(bad[0])!r} Hz is outside 0 .. {nyquist!r} Hz (Nyquist)")
    if args.plot:
        check_plot_path(args.plot)
    channels = default_channels(bands, args.channels)
    names = channel_names(check_channels(channels))
    try:
        groups = channel_groups(bands, channels)
    except InvalidParameterError as exc:
        if args.channels is not None:
            raise
        raise InvalidParameterError(f"{exc}; give --channels N for another layout") from None
    columns = [(("gain_db" if len(groups) == 1 else "+".join(names[c] for c in chans)),
                frequency_response_db(group, rate, freqs, preamp_db)) for chans, group in groups]
    widths = [max(8, len(title)) for title, _ in columns]
    print(f"{'freq_hz':>10}" + "".join(f"  {title:>{w}}" for (title, _), w in zip(columns, widths)))
    for i, f in enumerate(freqs):
        # + 0.0: no "-0.00"
        print(f"{f:10.1f}" + "".join(f"  {round(g[i], 2) + 0.0:{w}.2f}"
                                     for (_, g), w in zip(columns, widths)))
    if args.plot:
        title = "; ".join(band_text(b) for b in bands) or "no bands"
        if preamp_db:
            title = f"preamp {human_number(preamp_db)} dB; {title}"
        save_response_plot(bands, preamp_db, rate, args.plot, title, channels)
        sys.stdout.flush()
        print(f"eq response: saved the plot to {args.plot}", file=sys.stderr)
    return 0


def _preset_lines(preset):
    """A preset for reading, then the exact options that give the same curve."""
    lines = [f"{preset.name}: {preset.description}" if preset.description else preset.name,
             f"  preamp {human_number(preset.preamp_db)} dB"]
    rows = [(band.type, human_number(band.freq_hz), band_text(band).split(", ")[1],
             band_text(band).partition(", gain ")[2]) for band in preset.bands]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(3)]
    for i, (kind, freq, q, gain) in enumerate(rows, 1):
        line = (f"  {i}. {kind:<{widths[0]}}  {freq:>{widths[1]}} Hz  "
                f"{q:<{widths[2]}}  {'gain ' + gain if gain else ''}")
        lines.append(line.rstrip())
    if not preset.bands:
        lines.append("  no bands")
    exact_preamp = repr(preset.preamp_db).removesuffix(".0")  # reads back as the same float
    options = [f"--preamp {exact_preamp}"] if preset.preamp_db else []
    options += [f"--band {band.spec()}" for band in preset.bands]
    if options:
        lines.append("same as: " + " ".join(options))
    return lines


def _cmd_presets(args):
    if args.name:
        print("\n".join(_preset_lines(load_preset(args.name))))
        return 0
    for name in list_presets():
        print(f"{name:18} {load_preset(name).description}")
    return 0


def _cmd_export(args):
    from .export import export_text

    preset_bands, extra_bands, preamp_db = _bands_and_preamp(args)
    if args.channels < 1:
        raise InvalidParameterError(f"--channels must be >= 1, got {args.channels!r}")
    if args.rate is not None:
        bands = _kept_bands(args, preset_bands, extra_bands, check_sample_rate(args.rate))
    else:
        bands = preset_bands + extra_bands
    if args.auto_preamp and args.rate is None:
        # The response is taken at 48 kHz: a band there at or above Nyquist stays in the export,
        # and out of the preamp's computation.
        from .design import bands_below_nyquist

        audible, beyond = bands_below_nyquist(bands, 48000)
        for band in beyond:
            _notice(args, f"--auto-preamp: band {band_text(band)} is at or above Nyquist at "
                          "48000 Hz, the rate taken without --rate: left out of the preamp")
        preamp_db = _auto_preamp(args, audible, 48000, preamp_db)
    else:
        preamp_db = _auto_preamp(args, bands, check_sample_rate(args.rate or 48000), preamp_db)
    text = export_text(bands, preamp_db, args.to, channels=args.channels)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise EqError(f"cannot write {args.output!r}: {exc.strerror or exc}") from None
    return 0


_COMMANDS = {"export": _cmd_export, "apply": _cmd_apply, "batch": _cmd_batch, "stream": _cmd_stream,
             "video": _cmd_video,
             "response": _cmd_response, "presets": _cmd_presets}


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
    """Run the ``eq`` command; return its exit status (see :func:`exit_status`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.display_names = {}  # temporary paths -> what the user gave ("-")
    if args.command in ("apply", "batch", "stream", "video"):
        _skip_numba_blas_probe()
        from . import _engine

        _engine.compile_notice = _print_compile_notice

    def error(exc, status):
        message = str(exc)
        for path, name in args.display_names.items():
            message = message.replace(path, name)
        print(f"eq {args.command}: error: {message}", file=sys.stderr)
        return status

    try:
        return _COMMANDS[args.command](args)
    except EqError as exc:
        return error(exc, exit_status(exc))
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
        return error(exc, 1)
