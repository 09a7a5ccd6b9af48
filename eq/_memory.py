"""Arrays over raw memory addresses, for kernel entry points that take integers.

Passing a numpy array to a numba function has a cost per array on
the way in (numba wraps it in a reference-counted memory record), and every
view or slice of it inside the kernel updates that count with an atomic
operation. A kernel called once per few bytes of audio pays this on every
call. The byte kernel therefore takes the addresses of its buffers as
integers and rebuilds arrays over them with :func:`array_at`; arrays made
this way carry no memory record, so slicing them costs nothing.

The caller must keep the memory alive and large enough for the duration of
the call: the equalizers of :mod:`eq.streaming` pass only their own buffers
and arrays their caller holds during the call.
"""

from llvmlite import ir
from numba import carray, njit, types
from numba.extending import intrinsic

_I8P = ir.IntType(8).as_pointer()


@intrinsic
def _void_pointer(typingctx, address):
    """The integer `address` as a ``void*``."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], _I8P)

    return types.voidptr(address), codegen


@njit(cache=True, nogil=True)
def array_at(address, n, dtype):  # pragma: no cover - compiled
    """A 1-D C-contiguous array of `n` items of `dtype` at memory `address`."""
    return carray(_void_pointer(address), n, dtype)


def address_of(array):
    """The address of the first byte of a numpy array's data, as an int."""
    return array.__array_interface__["data"][0]
