"""Matrix products for the compiled engine: BLAS ``gemm`` called from compiled code.

``gemm(ta, tb, alpha, A, B, beta, C)`` computes ``C = alpha op(A) op(B) + beta C`` for row-major
(C-ordered) matrices, ``op`` transposing when ``ta``/``tb`` is true. ``beta = 1`` adds to ``C``:
the forward pass starts ``Z`` from the bias rows and adds ``A W`` to it, in one call.

The BLAS is found once, at import, and its ``gemm`` registered with LLVM under a fixed symbol name,
so that the compiled code (cached on disk) calls it by name, whichever library provides it:

1. the OpenBLAS that NumPy's wheels bundle (its CBLAS interface with 64-bit integers): the same
   library and thread pool as NumPy's own matrix products;
2. SciPy's BLAS (``scipy.linalg.cython_blas``, Fortran interface), when SciPy is installed;
3. neither: plain compiled loops (correct, but far slower on large layers).

``CHAINRULE_BLAS=numpy|scipy|loops`` forces one of them (the tests use it).
"""

from __future__ import annotations

import ctypes
import glob
import os

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from .caching import key_by_all_files

NUMPY_CBLAS, SCIPY_F77, LOOPS = 1, 2, 0
_SYMBOLS = ("chainrule_cblas_dgemm", "chainrule_cblas_sgemm",
            "chainrule_f77_dgemm", "chainrule_f77_sgemm")


def _numpy_openblas() -> tuple[int, int] | None:
    """Addresses of ``dgemm`` and ``sgemm`` in the OpenBLAS bundled with NumPy, if any."""
    root = os.path.dirname(np.__file__)
    for pattern in ("numpy.libs/*openblas*", ".dylibs/*openblas*"):
        folder = root if pattern.startswith(".") else os.path.dirname(root)
        for path in sorted(glob.glob(os.path.join(folder, pattern))):
            try:
                library = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix, suffix in (("scipy_cblas_", "64_"), ("cblas_", "64_")):
                try:
                    d = getattr(library, f"{prefix}dgemm{suffix}")
                    s = getattr(library, f"{prefix}sgemm{suffix}")
                except AttributeError:
                    continue
                return (ctypes.cast(d, ctypes.c_void_p).value,
                        ctypes.cast(s, ctypes.c_void_p).value)
    return None


def _scipy_blas() -> tuple[int, int] | None:
    """Addresses of SciPy's Fortran ``dgemm`` and ``sgemm``, if SciPy is installed."""
    try:
        from numba.extending import get_cython_function_address

        return (get_cython_function_address("scipy.linalg.cython_blas", "dgemm"),
                get_cython_function_address("scipy.linalg.cython_blas", "sgemm"))
    except (ImportError, ValueError, AttributeError):
        return None


def _find_blas() -> tuple[int, str]:
    """Register the BLAS symbols; return which kind was found, and its name."""
    wanted = os.environ.get("CHAINRULE_BLAS", "").lower()
    cblas = None if wanted in ("scipy", "loops") else _numpy_openblas()
    f77 = None if cblas or wanted in ("numpy", "loops") else _scipy_blas()  # (SciPy: 0.2 s)
    found = {NUMPY_CBLAS: cblas, SCIPY_F77: f77}
    # every symbol must resolve when cached code is loaded, also those never called
    dummy = ctypes.cast(ctypes.CDLL(None).abort, ctypes.c_void_p).value if os.name != "nt" \
        else ctypes.cast(ctypes.cdll.msvcrt.abort, ctypes.c_void_p).value
    cblas = found[NUMPY_CBLAS] or (dummy, dummy)
    f77 = found[SCIPY_F77] or (dummy, dummy)
    for name, address in zip(_SYMBOLS, (*cblas, *f77), strict=True):
        llvm.add_symbol(name, address)
    if found[NUMPY_CBLAS]:
        return NUMPY_CBLAS, "NumPy's OpenBLAS"
    if found[SCIPY_F77]:
        return SCIPY_F77, "SciPy's BLAS"
    return LOOPS, "no BLAS found: compiled loops"


KIND, NAME = _find_blas()

_i32, _i64, _vp = types.int32, types.int64, types.voidptr
_cblas_d = types.ExternalFunction("chainrule_cblas_dgemm", types.void(
    _i32, _i32, _i32, _i64, _i64, _i64, types.float64, _vp, _i64, _vp, _i64, types.float64, _vp,
    _i64))
_cblas_s = types.ExternalFunction("chainrule_cblas_sgemm", types.void(
    _i32, _i32, _i32, _i64, _i64, _i64, types.float32, _vp, _i64, _vp, _i64, types.float32, _vp,
    _i64))
_f77_d = types.ExternalFunction("chainrule_f77_dgemm", types.void(*[_vp] * 13))
_f77_s = types.ExternalFunction("chainrule_f77_sgemm", types.void(*[_vp] * 13))


@intrinsic
def _address(typingctx, array, start):
    """The address of ``array[start]`` (a 1-D array), as ``void *``."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        return builder.bitcast(builder.gep(data, [args[1]]),
                               context.get_value_type(types.voidptr))

    return types.voidptr(array, types.intp), codegen


def _cblas(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
    """Stub for the typed overload below."""


@overload(_cblas)
def _cblas_typed(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
    function = _cblas_d if A.dtype == types.float64 else _cblas_s
    dtype = np.float64 if A.dtype == types.float64 else np.float32

    def call(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
        function(np.int32(101), np.int32(112 if ta else 111), np.int32(112 if tb else 111),
                 np.int64(m), np.int64(n), np.int64(k), dtype(alpha), _address(A, a),
                 np.int64(m if ta else k), _address(B, b), np.int64(k if tb else n),
                 dtype(beta), _address(C, c), np.int64(n))

    return call


def _f77(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
    """Stub for the typed overload below."""


@intrinsic
def _reference(typingctx, value):
    """A pointer to a copy of ``value`` on the stack (Fortran takes every argument by
    reference)."""

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once_value(builder, args[0])
        return builder.bitcast(slot, context.get_value_type(types.voidptr))

    return types.voidptr(value), codegen


@overload(_f77)
def _f77_typed(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
    function = _f77_d if A.dtype == types.float64 else _f77_s
    dtype = np.float64 if A.dtype == types.float64 else np.float32

    def call(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
        # row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands
        function(_reference(np.int8(84 if tb else 78)), _reference(np.int8(84 if ta else 78)),
                 _reference(np.int32(n)), _reference(np.int32(m)), _reference(np.int32(k)),
                 _reference(dtype(alpha)), _address(B, b), _reference(np.int32(k if tb else n)),
                 _address(A, a), _reference(np.int32(m if ta else k)), _reference(dtype(beta)),
                 _address(C, c), _reference(np.int32(n)))

    return call


# (inlined where called: a tiny product costs less than passing the arrays of a call)
@njit(cache=True, error_model="numpy", fastmath={"contract", "reassoc"}, _nrt=False,
      inline="always")
def loops(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
    """``C = alpha op(A) op(B) + beta C`` in plain loops: for tiny matrices, where a BLAS call's
    own cost is most of the work, and where no BLAS was found. (Arguments as :func:`gemm`'s.)

    The innermost loop runs along the longest of the three dimensions (a column index ``j``, a
    sum index ``p`` or a row index ``i``), over slices from 0 (so that the compiler knows no
    index is negative, and vectorises it); sums may be reassociated, as BLAS does.
    """
    Av, Bv, Cv = A[a : a + m * k], B[b : b + k * n], C[c : c + m * n]
    sa_i, sa_p = (1, m) if ta else (k, 1)  # strides of op(A)'s rows and columns in A
    sb_p, sb_j = (1, k) if tb else (n, 1)  # ... and of op(B)'s in B
    for i in range(m * n):
        Cv[i] = 0.0 if beta == 0.0 else beta * Cv[i]
    if n >= k and n >= m:  # C_ij += A_ip B_pj along j
        for i in range(m):
            row = Cv[i * n : (i + 1) * n]
            for p in range(k):
                x = alpha * Av[i * sa_i + p * sa_p]
                for j in range(n):
                    row[j] += x * Bv[p * sb_p + j * sb_j]
    elif k >= m:  # dot products along p
        for i in range(m):
            for j in range(n):
                total = 0.0
                for p in range(k):
                    total += Av[i * sa_i + p * sa_p] * Bv[p * sb_p + j * sb_j]
                Cv[i * n + j] += alpha * total
    else:  # along i
        for p in range(k):
            for j in range(n):
                x = alpha * Bv[p * sb_p + j * sb_j]
                for i in range(m):
                    Cv[i * n + j] += Av[i * sa_i + p * sa_p] * x


@njit(cache=True, error_model="numpy", _nrt=False)
def gemm(kind, ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c):
    """``C = alpha op(A) op(B) + beta C``, each matrix row-major in a flat array from an offset:
    ``C`` is ``(m, n)`` from ``C[c]``, ``op(A)`` ``(m, k)`` from ``A[a]`` (stored ``(k, m)`` when
    ``ta``), ``op(B)`` ``(k, n)`` from ``B[b]``. Through the BLAS of ``kind`` (``KIND``, passed
    in: compiled code is cached, a global would be frozen into it) unless the product is tiny.
    """
    if kind == LOOPS or m * n * k <= SMALL_PRODUCT or k == 0:
        loops(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c)
    elif kind == NUMPY_CBLAS:
        _cblas(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c)
    else:
        _f77(ta, tb, m, n, k, alpha, A, a, B, b, beta, C, c)


SMALL_PRODUCT = 512  # multiply-adds up to which loops beat a BLAS call (measured: benchmarks/)


key_by_all_files(globals())  # (before any function here runs)
