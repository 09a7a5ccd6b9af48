"""Explicit fused multiply-add and float64 SIMD vectors for numba kernels.

numba leaves vectorization to LLVM, whose superword (SLP) vectorizer it turns
off, so a loop that carries several channels' filter state in scalar locals
stays scalar. These intrinsics let a kernel hold 2 or 4 channels in one
``<2 x double>`` or ``<4 x double>`` register and say exactly which
multiply-adds are fused:

- :func:`fma` ``(a, b, c)`` is ``a*b + c`` rounded once (``llvm.fma.f64``;
  see :data:`FUSED` for machines without hardware FMA),
- :func:`vfma`, :func:`vmul` are the same lane by lane on vectors
  (:data:`f64x2` or :data:`f64x4`),
- :func:`vsplat2`, :func:`vsplat4`, :func:`vpack2`, :func:`vpack4` and
  :func:`vlane` build vectors and read their lanes; :func:`vlow`,
  :func:`vhigh` and :func:`vjoin` split a 4-lane vector into its 2-lane
  halves and join two back, and :func:`vshiftin` moves its lanes up one,
- :func:`vload2`, :func:`vload4` and :func:`vstore` move a vector from and to
  adjacent elements of a C-contiguous 1-D float64 array.

A kernel that uses :func:`fma` for one channel and :func:`vfma` for several
does the same IEEE arithmetic in every lane, so a channel's output does not
depend on how many channels were filtered with it. No bounds are checked.
"""

from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import config
from numba.core.cgutils import get_or_insert_function
from numba.extending import intrinsic, models, register_model

from ._fpenv import X86_64

_DOUBLE = ir.DoubleType()
_I32 = ir.IntType(32)


class F64Vector(types.Type):
    """``width`` float64 lanes held in one SIMD register."""

    def __init__(self, width):
        self.width = width
        super().__init__(name=f"f64x{width}")


f64x2 = F64Vector(2)
"""The numba type of a two-lane float64 vector."""
f64x4 = F64Vector(4)
"""The numba type of a four-lane float64 vector."""


@register_model(F64Vector)
class _F64VectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, ir.VectorType(_DOUBLE, fe_type.width))


def _llvm_type(numba_type):
    if isinstance(numba_type, F64Vector):
        return ir.VectorType(_DOUBLE, numba_type.width)
    return _DOUBLE


def _host_has_fma():
    """Whether this machine fuses multiply-adds in hardware.

    Every 64-bit ARM and POWER core does; on x86 it is a CPU feature (Intel
    since 2013, AMD since 2012), missing on some low-end cores and VMs. When
    numba is told to compile for a named CPU (``NUMBA_CPU_NAME``, e.g.
    ``generic`` for a cache shared between machines), only an explicit
    ``+fma`` in ``NUMBA_CPU_FEATURES`` counts.
    """
    if config.CPU_NAME:  # NUMBA_CPU_NAME: compiling for another CPU (e.g. "generic")
        return "+fma" in (config.CPU_FEATURES or "")
    if not X86_64:
        return True
    try:
        return bool(llvm.get_host_cpu_features().get("fma", False))
    except Exception:  # pragma: no cover - feature query unavailable
        return False


FUSED = _host_has_fma()
"""Whether :func:`fma` and :func:`vfma` round once (hardware FMA).

Without hardware FMA, ``llvm.fma`` would call a software routine about ten
times slower, so they compile to ``llvm.fmuladd``, a multiply then an add on
such machines: still the same operations in every lane and kernel, so the
output stays chunk-invariant and channel-independent, only rounded twice.
numba caches compiled code per CPU model and features, so a cache is never
shared between the two kinds of machine.
"""


def _call_fma(builder, numba_type, args):
    ty = _llvm_type(numba_type)
    suffix = f"v{numba_type.width}f64" if isinstance(numba_type, F64Vector) else "f64"
    name = "llvm.fma" if FUSED else "llvm.fmuladd"
    fn = get_or_insert_function(builder.module, ir.FunctionType(ty, [ty, ty, ty]),
                                f"{name}.{suffix}")
    return builder.call(fn, list(args))


@intrinsic
def fma(typingctx, a, b, c):
    """Return ``a*b + c`` with one rounding (float64)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return _call_fma(builder, types.float64, args)

    return sig, codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """Return ``a*b + c`` lane by lane, each with one rounding."""
    if not (isinstance(a, F64Vector) and a == b == c):
        return None

    def codegen(context, builder, signature, args):
        return _call_fma(builder, signature.return_type, args)

    return a(a, a, a), codegen


@intrinsic
def vmul(typingctx, a, b):
    """Return ``a*b`` lane by lane."""
    if not (isinstance(a, F64Vector) and a == b):
        return None

    def codegen(context, builder, signature, args):
        return builder.fmul(*args)

    return a(a, a), codegen


def _build(builder, vector_type, values):
    vec = ir.Constant(_llvm_type(vector_type), ir.Undefined)
    for i, value in enumerate(values):
        vec = builder.insert_element(vec, value, ir.Constant(_I32, i))
    return vec


@intrinsic
def vsplat2(typingctx, x):
    """Return the vector ``(x, x)``."""
    def codegen(context, builder, signature, args):
        return _build(builder, f64x2, [args[0]] * 2)

    return f64x2(types.float64), codegen


@intrinsic
def vsplat4(typingctx, x):
    """Return the vector ``(x, x, x, x)``."""
    def codegen(context, builder, signature, args):
        return _build(builder, f64x4, [args[0]] * 4)

    return f64x4(types.float64), codegen


@intrinsic
def vpack2(typingctx, x0, x1):
    """Return the vector ``(x0, x1)``."""
    def codegen(context, builder, signature, args):
        return _build(builder, f64x2, args)

    return f64x2(types.float64, types.float64), codegen


@intrinsic
def vpack4(typingctx, x0, x1, x2, x3):
    """Return the vector ``(x0, x1, x2, x3)``."""
    def codegen(context, builder, signature, args):
        return _build(builder, f64x4, args)

    return f64x4(types.float64, types.float64, types.float64, types.float64), codegen


@intrinsic
def vlane(typingctx, v, lane):
    """Return lane ``lane`` of the vector ``v``."""
    if not isinstance(v, F64Vector) or not isinstance(lane, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.extract_element(*args)

    return types.float64(v, lane), codegen


def _shuffle(builder, a, b, lanes):
    mask = ir.Constant(ir.VectorType(_I32, len(lanes)), [ir.Constant(_I32, i) for i in lanes])
    return builder.shuffle_vector(a, b, mask)


@intrinsic
def vlow(typingctx, v):
    """Return lanes 0 and 1 of the 4-lane vector ``v`` as a 2-lane vector."""
    if v != f64x4:
        return None

    def codegen(context, builder, signature, args):
        return _shuffle(builder, args[0], args[0], (0, 1))

    return f64x2(v), codegen


@intrinsic
def vhigh(typingctx, v):
    """Return lanes 2 and 3 of the 4-lane vector ``v`` as a 2-lane vector."""
    if v != f64x4:
        return None

    def codegen(context, builder, signature, args):
        return _shuffle(builder, args[0], args[0], (2, 3))

    return f64x2(v), codegen


@intrinsic
def vjoin(typingctx, lo, hi):
    """Return the 4-lane vector whose lanes are those of ``lo`` then those of ``hi``."""
    if not (lo == hi == f64x2):
        return None

    def codegen(context, builder, signature, args):
        return _shuffle(builder, args[0], args[1], (0, 1, 2, 3))

    return f64x4(lo, hi), codegen


@intrinsic
def vshiftin(typingctx, v, x):
    """Return ``(x, v[0], v[1], v[2])``: the 4-lane ``v`` moved up a lane, ``x`` in lane 0."""
    if v != f64x4 or not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        vec, value = args
        lane0 = builder.insert_element(ir.Constant(vec.type, ir.Undefined), value,
                                       ir.Constant(_I32, 0))
        return _shuffle(builder, vec, lane0, (4, 0, 1, 2))

    return f64x4(v, types.float64), codegen


def _is_float64_vector_array(arr, index):
    return (isinstance(arr, types.Array) and arr.dtype == types.float64
            and arr.ndim == 1 and arr.layout == "C" and isinstance(index, types.Integer))


def _element_pointer(context, builder, arrtype, arr, index, vector_type):
    data = context.make_array(arrtype)(context, builder, arr).data
    ptr = builder.gep(data, [index])
    return builder.bitcast(ptr, _llvm_type(vector_type).as_pointer())


def _typed_load(arr, index, vector_type):
    if not _is_float64_vector_array(arr, index):
        return None

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1], vector_type)
        return builder.load(ptr, align=8)

    return vector_type(arr, index), codegen


@intrinsic
def vload2(typingctx, arr, index):
    """Return ``arr[index:index + 2]`` as a vector (C-contiguous 1-D float64 ``arr``)."""
    return _typed_load(arr, index, f64x2)


@intrinsic
def vload4(typingctx, arr, index):
    """Return ``arr[index:index + 4]`` as a vector (C-contiguous 1-D float64 ``arr``)."""
    return _typed_load(arr, index, f64x4)


@intrinsic
def vstore(typingctx, arr, index, v):
    """Set ``arr[index:index + width]`` to the lanes of ``v``."""
    if not _is_float64_vector_array(arr, index) or not isinstance(v, F64Vector):
        return None

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1],
                               signature.args[2])
        builder.store(args[2], ptr, align=8)
        return context.get_dummy_value()

    return types.none(arr, index, v), codegen


__all__ = ["f64x2", "f64x4", "fma", "vfma", "vmul", "vsplat2", "vsplat4", "vpack2", "vpack4",
           "vlane", "vlow", "vhigh", "vjoin", "vshiftin", "vload2", "vload4", "vstore"]
