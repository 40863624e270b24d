"""Decode CIFAR-10's python batches without running pickle's code: a restricted unpickler.

An official batch (``data_batch_1`` ... ``test_batch``) is a protocol-2 pickle of a dict with the
keys ``batch_label``, ``labels`` (a list of ints), ``data`` (a numpy uint8 array of shape
(N, 3072)) and ``filenames``. ``pickle.load`` on such a file imports and calls whatever globals
the file names (``os.system`` as easily as ``numpy.core.multiarray._reconstruct``), so a planted
file runs code before any check can look at the arrays.

:class:`BatchUnpickler` never imports anything: its ``find_class`` answers the few globals a
numpy array's pickle names (``numpy.core.multiarray._reconstruct`` or its numpy 2 spelling,
``numpy.ndarray``, ``numpy.dtype``, numpy's ``_frombuffer`` for protocol 5, and
``_codecs.encode``, which Python 3 writes for bytes under protocol 2) with inert stand-ins
defined here, and refuses every other global with :class:`pickle.UnpicklingError`. Every callable
the unpickler can reach is therefore one of those stand-ins or a method of a builtin container
(``list.append``, ``dict.__setitem__``); persistent ids and extension codes are refused before
unpickling starts (:data:`REFUSED_OPCODES`, found by walking the opcodes with ``pickletools``). An
array stand-in keeps the raw bytes, and the array is rebuilt with ``np.frombuffer`` from them and
a dtype from a short list of plain numeric codes (never ``object``).
"""

from __future__ import annotations

import io
import pickle
import pickletools

import numpy as np

__all__ = [
    "ALLOWED_GLOBALS",
    "BATCH_KEYS",
    "MAX_BATCH_BYTES",
    "REFUSED_OPCODES",
    "BatchUnpickler",
    "decode_batch",
]

#: Largest batch file decoded (an official batch has 31,035,999 bytes at most).
MAX_BATCH_BYTES = 64 << 20

#: numpy dtype codes an array in a batch may have (plain numbers; never ``object``).
_DTYPE_CODES = frozenset({"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"})

#: opcodes refused before unpickling: extension codes (they can bypass ``find_class`` through
#: ``copyreg``'s cache) and persistent ids.
REFUSED_OPCODES = frozenset({"EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID"})

#: the keys of an official batch (bytes, as ``encoding="bytes"`` decodes Python 2 strings).
BATCH_KEYS = frozenset({b"batch_label", b"labels", b"data", b"filenames"})


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("latin1")
    if isinstance(value, str):
        return value
    raise pickle.UnpicklingError(f"expected a string in an array's pickle, got {type(value)}")


class _Dtype:
    """Stands for ``numpy.dtype(code, align, copy)``; ``__setstate__`` takes the byte order."""

    def __init__(self, code: object, *_: object) -> None:
        code = _text(code)
        if code not in _DTYPE_CODES:
            raise pickle.UnpicklingError(f"array dtype {code!r} is not a plain numeric type")
        self.code = code
        self.order = "|"

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, tuple) or len(state) < 2:
            raise pickle.UnpicklingError("a dtype's state is not a tuple")
        order = _text(state[1])
        if order not in ("|", "<", ">", "="):
            raise pickle.UnpicklingError(f"unknown byte order {order!r}")
        self.order = order

    def numpy(self) -> np.dtype:
        return np.dtype(("" if self.order == "|" else self.order) + self.code)


class _NdarrayType:
    """Stands for the class ``numpy.ndarray`` (only ever passed to ``_reconstruct``)."""


class _Array:
    """Stands for ``_reconstruct(ndarray, (0,), b"b")``; ``__setstate__`` takes shape, dtype and
    the raw bytes, from which :meth:`numpy` rebuilds the array."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: object) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("an array's state is not a tuple of 4 or 5 items")
        shape, dtype, fortran, raw = state[-4:]
        self.array = _rebuild(raw, dtype, shape, "F" if fortran else "C")

    def numpy(self) -> np.ndarray:
        if self.array is None:
            raise pickle.UnpicklingError("an array without its state")
        return self.array


def _rebuild(raw: object, dtype: object, shape: object, order: str) -> np.ndarray:
    if not isinstance(dtype, _Dtype):
        raise pickle.UnpicklingError("an array's dtype is not a numpy dtype")
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise pickle.UnpicklingError(f"an array's shape is not a tuple of sizes: {shape!r}")
    if isinstance(raw, str):  # Python 2 strings decoded as text
        raw = raw.encode("latin1")
    if not isinstance(raw, bytes | bytearray):
        raise pickle.UnpicklingError("an array's data are not raw bytes")
    flat = np.frombuffer(bytes(raw), dtype=dtype.numpy())
    if flat.size != int(np.prod(shape, dtype=np.int64)):
        raise pickle.UnpicklingError(
            f"an array of shape {shape} cannot hold {flat.size} values")
    return flat.reshape(shape, order=order)


def _reconstruct(cls: object, *_: object) -> _Array:
    if cls is not _NdarrayType:
        raise pickle.UnpicklingError("_reconstruct of something other than numpy.ndarray")
    return _Array()


def _frombuffer(buf: object, dtype: object, shape: object, order: object) -> _Array:
    array = _Array()
    array.array = _rebuild(buf, dtype, shape, _text(order))
    return array


def _encode(text: object, encoding: object = "utf-8") -> bytes:
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("_codecs.encode other than a latin1 string")
    return text.encode("latin1")


_STANDINS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): _NdarrayType,
    ("numpy", "dtype"): _Dtype,
    ("_codecs", "encode"): _encode,
}
#: The globals a batch may name; each is answered by an inert stand-in, never imported.
ALLOWED_GLOBALS = tuple(sorted(f"{m}.{n}" for m, n in _STANDINS))


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that imports nothing (see the module docstring)."""

    def find_class(self, module: str, name: str) -> object:
        try:
            return _STANDINS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused global {module}.{name}: a CIFAR-10 batch names only "
                f"{', '.join(ALLOWED_GLOBALS)}"
            ) from None

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("refused a persistent id: not a CIFAR-10 batch")


def _plain(value: object, where: str) -> object:
    """``value`` with array stand-ins replaced by arrays; anything else not plain is refused."""
    if isinstance(value, _Array):
        return value.numpy()
    if isinstance(value, bytes | str | int | float) or value is None:
        return value
    if isinstance(value, list):
        return [_plain(v, where) for v in value]
    raise pickle.UnpicklingError(f"{where} holds a {type(value).__name__}")


def decode_batch(raw: bytes) -> dict[bytes, object]:
    """Unpickle one batch's bytes with :class:`BatchUnpickler` into a dict of plain values.

    Returns:
        The batch's dict, keys as bytes (``b"data"``, ``b"labels"``, ...), ``data`` a numpy
        array, the others lists, bytes, strings or numbers.

    Raises:
        pickle.UnpicklingError: a refused global or opcode, or a dict other than a batch's.
        Malformed input raises what the unpickler raises (``EOFError``, ``ValueError``, ...).
    """
    if len(raw) > MAX_BATCH_BYTES:
        raise pickle.UnpicklingError(
            f"{len(raw)} bytes: larger than any CIFAR-10 batch ({MAX_BATCH_BYTES} at most)")
    for opcode, _, pos in pickletools.genops(raw):
        if opcode.name in REFUSED_OPCODES:
            raise pickle.UnpicklingError(f"refused opcode {opcode.name} at byte {pos}")
    batch = BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
    if not isinstance(batch, dict):
        raise pickle.UnpicklingError(f"the pickle holds a {type(batch).__name__}, not a dict")
    out: dict[bytes, object] = {}
    for key, value in batch.items():
        key_bytes = key.encode() if isinstance(key, str) else key
        if key_bytes not in BATCH_KEYS:
            raise pickle.UnpicklingError(
                f"unexpected key {key!r}: a batch holds {sorted(k.decode() for k in BATCH_KEYS)}")
        out[key_bytes] = _plain(value, key_bytes.decode())
    return out
