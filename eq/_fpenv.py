"""Flush subnormal floats to zero while a kernel runs (x86-64).

A recursive filter fed digital silence after a sound lets its state decay
into the subnormal range (below 2.2e-308), where it can stay for good in a
limit cycle of the smallest subnormals. x86 cores take a microcode assist on
every subnormal operand or result, on the order of a hundred times the cost of
a normal operation, so a stream slows by that much on the silence after a
click (``benchmarks/`` measures it).

:func:`flush_subnormals` sets the MXCSR flags FTZ (subnormal results become
zero) and DAZ (subnormal inputs read as zero) and returns the previous control
word; :func:`restore_fp_control` puts it back before the kernel returns, so
the caller's floating point is untouched. Only values below the smallest
normal number change to zero (2.2e-308 in the float64 arithmetic; 1.2e-38,
about -758 dBFS, for float32 samples read or written), and the same way
wherever a stream is split, so outputs stay chunk-invariant.

On other architectures both are no-ops returning 0 (the kernels stay correct;
only the speed on subnormals differs).
"""

import platform

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

X86_64 = platform.machine().lower() in ("x86_64", "amd64")
"""Whether this is an x86-64 machine: only there are subnormals flushed (the
MXCSR flags are x86's) and can hardware FMA be missing (:mod:`eq._simd`)."""

_FTZ_DAZ = 0x8040  # MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero)
_I8P = ir.IntType(8).as_pointer()
_I32 = ir.IntType(32)
_VOID_FN = ir.FunctionType(ir.VoidType(), [_I8P])


def _mxcsr_call(builder, name, slot):
    fn = cgutils.get_or_insert_function(builder.module, _VOID_FN, name)
    builder.call(fn, [builder.bitcast(slot, _I8P)])


@intrinsic
def flush_subnormals(typingctx):
    """Turn on flush-to-zero and denormals-are-zero; return the old control word."""
    def codegen(context, builder, signature, args):
        if not X86_64:
            return ir.Constant(_I32, 0)
        slot = cgutils.alloca_once(builder, _I32)
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        old = builder.load(slot)
        builder.store(builder.or_(old, ir.Constant(_I32, _FTZ_DAZ)), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return old

    return types.uint32(), codegen


@intrinsic
def restore_fp_control(typingctx, old):
    """Load the control word `old` returned by :func:`flush_subnormals`."""
    def codegen(context, builder, signature, args):
        if X86_64:
            slot = cgutils.alloca_once(builder, _I32)
            builder.store(args[0], slot)
            _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return context.get_dummy_value()

    return types.none(types.uint32), codegen
