"""Explicit fused multiply-add and two-lane float64 vectors for numba kernels.

numba leaves vectorization to LLVM, whose superword (SLP) vectorizer it turns
off, so a loop that carries a channel pair's filter state in scalar locals
stays scalar. These intrinsics let a kernel hold the pair in one
``<2 x double>`` register and say exactly which multiply-adds are fused:

- :func:`fma` ``(a, b, c)`` is ``a*b + c`` rounded once (``llvm.fma.f64``),
- :func:`vfma`, :func:`vmul` are the same on :data:`f64x2` pairs,
- :func:`vsplat`, :func:`vpack`, :func:`vlane` build and split pairs,
- :func:`vload`, :func:`vstore` move a pair from and to two adjacent
  elements of a contiguous float64 array.

A kernel that uses :func:`fma` for one channel and :func:`vfma` for a pair
does the same IEEE arithmetic in both, so a channel's output does not depend
on whether it was filtered alone or in a pair. No bounds are checked.
"""

from llvmlite import ir
from numba import types
from numba.core.cgutils import get_or_insert_function as cgutils_get_or_insert
from numba.extending import intrinsic, models, register_model

_DOUBLE = ir.DoubleType()
_VEC = ir.VectorType(_DOUBLE, 2)


class F64x2(types.Type):
    """Two float64 lanes held in one SIMD register."""

    def __init__(self):
        super().__init__(name="f64x2")


f64x2 = F64x2()
"""The numba type of a two-lane float64 vector."""


@register_model(F64x2)
class _F64x2Model(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _VEC)


def _llvm_fma(builder, ty, a, b, c):
    name = "llvm.fma.v2f64" if ty is _VEC else "llvm.fma.f64"
    fn = cgutils_get_or_insert(builder.module, ir.FunctionType(ty, [ty, ty, ty]), name)
    return builder.call(fn, [a, b, c])


@intrinsic
def fma(typingctx, a, b, c):
    """Return ``a*b + c`` with one rounding (float64)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return _llvm_fma(builder, _DOUBLE, *args)

    return sig, codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """Return ``a*b + c`` lane by lane, each with one rounding."""
    if not (a == f64x2 and b == f64x2 and c == f64x2):
        return None
    sig = f64x2(f64x2, f64x2, f64x2)

    def codegen(context, builder, signature, args):
        return _llvm_fma(builder, _VEC, *args)

    return sig, codegen


@intrinsic
def vmul(typingctx, a, b):
    """Return ``a*b`` lane by lane."""
    if not (a == f64x2 and b == f64x2):
        return None
    sig = f64x2(f64x2, f64x2)

    def codegen(context, builder, signature, args):
        return builder.fmul(*args)

    return sig, codegen


@intrinsic
def vsplat(typingctx, x):
    """Return the pair ``(x, x)`` (float64)."""
    sig = f64x2(types.float64)

    def codegen(context, builder, signature, args):
        (value,) = args
        vec = ir.Constant(_VEC, ir.Undefined)
        vec = builder.insert_element(vec, value, ir.Constant(ir.IntType(32), 0))
        return builder.insert_element(vec, value, ir.Constant(ir.IntType(32), 1))

    return sig, codegen


@intrinsic
def vpack(typingctx, x0, x1):
    """Return the pair ``(x0, x1)`` (float64)."""
    sig = f64x2(types.float64, types.float64)

    def codegen(context, builder, signature, args):
        vec = ir.Constant(_VEC, ir.Undefined)
        vec = builder.insert_element(vec, args[0], ir.Constant(ir.IntType(32), 0))
        return builder.insert_element(vec, args[1], ir.Constant(ir.IntType(32), 1))

    return sig, codegen


@intrinsic
def vlane(typingctx, v, lane):
    """Return lane ``lane`` (0 or 1) of the pair ``v``."""
    if v != f64x2 or not isinstance(lane, types.Integer):
        return None
    sig = types.float64(f64x2, lane)

    def codegen(context, builder, signature, args):
        vec, index = args
        return builder.extract_element(vec, index)

    return sig, codegen


def _element_pointer(context, builder, arrtype, arr, index):
    array = context.make_array(arrtype)(context, builder, arr)
    ptr = builder.gep(array.data, [index])
    return builder.bitcast(ptr, _VEC.as_pointer())


def _check_array(arr, index):
    return (isinstance(arr, types.Array) and arr.dtype == types.float64
            and arr.ndim == 1 and arr.layout == "C" and isinstance(index, types.Integer))


@intrinsic
def vload(typingctx, arr, index):
    """Return ``(arr[index], arr[index + 1])`` of a C-contiguous 1-D float64 array."""
    if not _check_array(arr, index):
        return None
    sig = f64x2(arr, index)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load(ptr, align=8)

    return sig, codegen


@intrinsic
def vstore(typingctx, arr, index, v):
    """Set ``arr[index], arr[index + 1]`` to the lanes of ``v``."""
    if not _check_array(arr, index) or v != f64x2:
        return None
    sig = types.none(arr, index, v)

    def codegen(context, builder, signature, args):
        ptr = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        builder.store(args[2], ptr, align=8)
        return context.get_dummy_value()

    return sig, codegen


__all__ = ["f64x2", "fma", "vfma", "vmul", "vsplat", "vpack", "vlane", "vload", "vstore"]
