"""The plain-data codec between the student kernel and the checker kernel.

Both sides of a graded notebook use it: the checker (trusted, runs the test
cells) and the student kernel (sandboxed, runs the answer cells). Only data
crosses: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
``bytes``, tuples, lists and dicts of these, NumPy arrays and scalars of a
numeric or bool dtype (as dtype + shape + bytes). A subclass of one of these
types is sent as its base type, by value, read with the base type's own
methods, so no method of the subclass runs. Anything else is sent as a
*handle*: an id that the receiver can only ask the owner about.

A message is JSON; the tags are:

    null, true, false         None, True, False
    {"i": "123"}              int (decimal text: any size up to MAX_DIGITS)
    {"f": "0x1.8p+1"}         float (float.hex: exact, NaN and infinities too)
    {"c": [re, im]}           complex
    {"s": "text"}             str
    {"y": "base64"}           bytes
    {"t": [...]}, {"l": [...]}, {"d": [[key, value], ...]}
    {"a": [dtype, shape, "base64"]}   ndarray
    {"g": [dtype, "base64"]}  NumPy scalar
    {"h": [id, type, callable]}       an object of the sender's: a handle for the receiver
    {"r": id}                 an object of the receiver's, sent back to it
    {"T": "float32"}          a NumPy scalar type or int/float/complex/bool/str/bytes (a dtype= argument)
    {"D": "<f4"}              a NumPy dtype of a numeric or bool kind
    {"o": [n, kind, state]}   an object sent by value as its state (e.g. a cnnlib layer), the
                              n-th such object of the message; {"o": n} is that object again

Decoding never runs code from the message: no pickle, no eval, no imports.
Sizes and nesting are capped; a message over a cap is refused with
:class:`WireError`, whose text says which cap.

This file imports nothing but the standard library and NumPy: the sandbox
shows it, and only it, to the student kernel.
"""

from __future__ import annotations

import base64
import json

import numpy as np

MAX_DEPTH = 32  # containers inside containers (also stops self-referencing lists)
MAX_ITEMS = 1_000_000  # values in one message
MAX_BYTES = 256 * 1024 ** 2  # bytes of array, str and bytes data in one message
MAX_DIGITS = 4000  # digits of one int (Python's own str/int limit is 4300)
ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex
MAX_MESSAGE = 64 * 1024  # bytes of one message (CSV cell, remark, error line): DESIGN.md's "Output" limit


class WireError(ValueError):
    """A value that cannot cross between the kernels, or a malformed message."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text) -> bytes:
    if not isinstance(text, str):
        raise WireError("malformed message: base64 data is not a string")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as error:
        raise WireError(f"malformed message: bad base64 ({error})") from None


def _plain_dtype(dtype: np.dtype) -> bool:
    return dtype.kind in ARRAY_KINDS and dtype.fields is None and dtype.subdtype is None


_SCALAR_TYPES = frozenset(t for t in set(np.sctypeDict.values()) if _plain_dtype(np.dtype(t)))
# types that cross by name, for arguments such as dtype=np.float32
_TYPES = {t.__name__: t for t in _SCALAR_TYPES} | {t.__name__: t for t in (int, float, complex, bool, str, bytes)}
_TYPE_NAMES = {t: name for name, t in _TYPES.items()}


class _Budget:
    def __init__(self):
        self.items = 0
        self.bytes = 0

    def add(self, items=1, size=0):
        self.items += items
        self.bytes += size
        if self.items > MAX_ITEMS:
            raise WireError(f"too many values (more than {MAX_ITEMS:,}) to pass between the kernels")
        if self.bytes > MAX_BYTES:
            raise WireError(f"too much data (more than {MAX_BYTES // 1024 ** 2} MiB) to pass between the kernels")


# --- encoding -------------------------------------------------------------------

def encode(value, export=None, local_ref=None, describe=None) -> str:
    """``value`` as a JSON message.

    ``export(obj) -> (id, type_name, callable)`` makes a handle for an object
    that is not plain data (None: such objects are refused); ``local_ref(obj)``
    returns the receiver's id when ``obj`` is a handle the receiver owns (else None);
    ``describe(obj) -> (kind, state) or None`` sends an object by value instead.
    """
    budget = _Budget()
    budget.describe, budget.described = describe, {}
    return json.dumps(_encode(value, export, local_ref, 0, budget), separators=(",", ":"))


def _encode(value, export, local_ref, depth, budget):
    budget.add()
    if depth > MAX_DEPTH:
        raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
    kind = type(value)
    # exact types first; the isinstance branches below read subclasses with the base's methods
    if value is None or kind is bool:
        return value
    if local_ref is not None:
        ref = local_ref(value)
        if ref is not None:
            return {"r": ref}
    if isinstance(value, bool):  # bool cannot be subclassed, but np.bool_ is not bool
        return bool.__bool__(value)
    if isinstance(value, int):
        number = int.__int__(value)
        if number.bit_length() > MAX_DIGITS * 3:  # 3 bits per digit underestimates: stays under MAX_DIGITS
            raise WireError(f"an int with more than {MAX_DIGITS} digits cannot be passed between the kernels")
        text = int.__repr__(number)
        if len(text) > MAX_DIGITS:
            raise WireError(f"an int with more than {MAX_DIGITS} digits cannot be passed between the kernels")
        return {"i": text}
    if isinstance(value, float):
        return {"f": float.hex(float.__float__(value))}
    if isinstance(value, complex):
        number = complex.__complex__(value)
        return {"c": [float.hex(number.real), float.hex(number.imag)]}
    if isinstance(value, str):
        text = str.__getitem__(value, slice(None))
        budget.add(0, len(text))
        return {"s": text}
    if isinstance(value, (bytes, bytearray)):
        data = bytes(memoryview(value)) if kind is bytearray else bytes.__getitem__(value, slice(None))
        budget.add(0, len(data))
        return {"y": _b64(data)}
    if isinstance(value, np.ndarray):
        array = np.ndarray.view(value, np.ndarray)
        if _plain_dtype(array.dtype):
            budget.add(0, array.nbytes)
            data = np.ascontiguousarray(array).tobytes()
            return {"a": [array.dtype.str, list(array.shape), _b64(data)]}
    elif kind is type and value in _TYPE_NAMES:
        return {"T": _TYPE_NAMES[value]}
    elif kind is np.dtype or (isinstance(kind, type) and issubclass(kind, np.dtype)
                              and kind.__module__.startswith("numpy")):
        if _plain_dtype(value):
            return {"D": value.str}
    elif kind in _SCALAR_TYPES:  # exact NumPy scalar types only: a subclass becomes a handle
        dtype = np.dtype(kind)
        return {"g": [dtype.str, _b64(np.array(value, dtype=dtype).tobytes())]}
    elif isinstance(value, tuple):
        return {"t": [_encode(item, export, local_ref, depth + 1, budget) for item in tuple.__iter__(value)]}
    elif isinstance(value, list):
        return {"l": [_encode(item, export, local_ref, depth + 1, budget) for item in list.__iter__(value)]}
    elif isinstance(value, dict):
        return {"d": [[_encode(k, export, local_ref, depth + 1, budget),
                       _encode(v, export, local_ref, depth + 1, budget)] for k, v in dict.items(value)]}
    if budget.describe is not None:
        seen = budget.described.get(id(value))
        if seen is not None:
            if seen[1] is None:
                raise WireError(f"a {type_name(value)} object that contains itself cannot be passed")
            return {"o": seen[0]}
        description = budget.describe(value)
        if description is not None:
            number = len(budget.described)
            budget.described[id(value)] = (number, None, value)  # the value is kept alive while encoding
            kind, state = description
            body = [number, str(kind), _encode(state, export, local_ref, depth + 1, budget)]
            budget.described[id(value)] = (number, True, value)
            return {"o": body}
    if export is None:
        raise WireError(f"a {type_name(value)} object cannot be passed between the kernels")
    handle_id, name, is_callable = export(value)
    return {"h": [int(handle_id), str(name), bool(is_callable)]}


def type_name(value) -> str:
    """The name of a value's class, read without running any of its code."""
    name = type.__dict__["__name__"].__get__(type(value))
    return name if isinstance(name, str) else "?"


# --- decoding -------------------------------------------------------------------

def decode(message, handle=None, own=None, rebuild=None):
    """The value of a JSON message made by :func:`encode`.

    ``handle(id, type_name, callable)`` makes the local stand-in of a sender's
    object (None: handles are refused); ``own(id)`` returns one of this side's
    objects that the sender refers to; ``rebuild(kind, state)`` makes an object
    sent by value (None: such objects are refused).
    """
    if isinstance(message, (bytes, bytearray)):
        message = bytes(message).decode("utf-8", errors="strict")
    if not isinstance(message, str):
        raise WireError("malformed message: not text")
    try:
        tree = json.loads(message)
    except (ValueError, RecursionError) as error:
        raise WireError(f"malformed message ({type(error).__name__})") from None
    budget = _Budget()
    budget.rebuild, budget.built = rebuild, {}
    return _decode(tree, handle, own, 0, budget)


def _decode(node, handle, own, depth, budget):
    budget.add()
    if depth > MAX_DEPTH:
        raise WireError(f"the value is nested more than {MAX_DEPTH} levels deep")
    if node is None or node is True or node is False:
        return node
    if not isinstance(node, dict) or len(node) != 1:
        raise WireError("malformed message: unknown value")
    (tag, body), = node.items()
    if tag == "i":
        if not isinstance(body, str) or len(body) > MAX_DIGITS + 1 or not body.lstrip("-").isdigit() \
                or not body.isascii():
            raise WireError("malformed message: bad int")
        return int(body)
    if tag == "f":
        return _float(body)
    if tag == "c":
        if not isinstance(body, list) or len(body) != 2:
            raise WireError("malformed message: bad complex")
        return complex(_float(body[0]), _float(body[1]))
    if tag == "s":
        if not isinstance(body, str):
            raise WireError("malformed message: bad str")
        budget.add(0, len(body))
        return body
    if tag == "y":
        data = _unb64(body)
        budget.add(0, len(data))
        return data
    if tag in ("t", "l"):
        if not isinstance(body, list):
            raise WireError("malformed message: bad sequence")
        items = [_decode(item, handle, own, depth + 1, budget) for item in body]
        return tuple(items) if tag == "t" else items
    if tag == "d":
        if not isinstance(body, list):
            raise WireError("malformed message: bad dict")
        result = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("malformed message: bad dict item")
            key = _decode(pair[0], handle, own, depth + 1, budget)
            try:
                hash(key)
            except TypeError:
                raise WireError("malformed message: a dict key that cannot be hashed") from None
            result[key] = _decode(pair[1], handle, own, depth + 1, budget)
        return result
    if tag == "a":
        if not isinstance(body, list) or len(body) != 3 or not isinstance(body[1], list):
            raise WireError("malformed message: bad array")
        dtype = _dtype(body[0])
        shape = body[1]
        if len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
            raise WireError("malformed message: bad array shape")
        data = _unb64(body[2])
        count = 1
        for n in shape:
            count *= n
        if count * dtype.itemsize != len(data):
            raise WireError("malformed message: array data does not match its shape")
        budget.add(0, len(data))
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if tag == "g":
        if not isinstance(body, list) or len(body) != 2:
            raise WireError("malformed message: bad scalar")
        dtype = _dtype(body[0])
        data = _unb64(body[1])
        if len(data) != dtype.itemsize:
            raise WireError("malformed message: bad scalar data")
        return np.frombuffer(data, dtype=dtype)[0]
    if tag == "T":
        if not isinstance(body, str) or body not in _TYPES:
            raise WireError("malformed message: bad type")
        return _TYPES[body]
    if tag == "D":
        return _dtype(body)
    if tag == "h":
        if handle is None:
            raise WireError("an object that is not plain data cannot be passed here")
        if not isinstance(body, list) or len(body) != 3 or type(body[0]) is not int \
                or not isinstance(body[1], str) or not isinstance(body[2], bool):
            raise WireError("malformed message: bad handle")
        return handle(body[0], body[1][:200], body[2])
    if tag == "o":
        if budget.rebuild is None:
            raise WireError("an object sent by value cannot be taken here")
        if type(body) is int:
            if body not in budget.built:
                raise WireError("malformed message: reference to an unknown object")
            return budget.built[body]
        if not isinstance(body, list) or len(body) != 3 or type(body[0]) is not int or not isinstance(body[1], str) \
                or body[0] in budget.built:
            raise WireError("malformed message: bad object")
        state = _decode(body[2], handle, own, depth + 1, budget)
        budget.built[body[0]] = obj = budget.rebuild(body[1][:200], state)
        return obj
    if tag == "r":
        if own is None or type(body) is not int:
            raise WireError("malformed message: bad reference")
        return own(body)
    raise WireError(f"malformed message: unknown tag {str(tag)[:20]!r}")


def _float(text) -> float:
    if not isinstance(text, str) or len(text) > 40:
        raise WireError("malformed message: bad float")
    try:
        return float.fromhex(text)
    except (ValueError, OverflowError):
        raise WireError("malformed message: bad float") from None


def _dtype(text) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise WireError("malformed message: bad dtype")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise WireError("malformed message: bad dtype") from None
    if not _plain_dtype(dtype):
        raise WireError(f"an array of dtype {dtype} cannot be passed between the kernels")
    return dtype


def cut(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` within ``limit`` bytes of UTF-8: its middle replaced by a mark that says how
    many characters were left out (the end of a message often names the mistake).
    Here because both kernels and the grader cut messages, and this file is the one
    module the sandboxed kernel shares with them."""
    text = str(text)
    if len(text) <= limit // 4 or (len(text) <= limit and len(text.encode("utf-8", "surrogatepass")) <= limit):
        return text
    half = max(0, (limit - 64) // 2)  # 64 bytes for the mark
    head = text[:half].encode("utf-8", "surrogatepass")[:half].decode("utf-8", "ignore")
    tail = text[-half:].encode("utf-8", "surrogatepass")[-half:].decode("utf-8", "ignore") if half else ""
    return f"{head} … [{len(text) - len(head) - len(tail):,} characters left out] … {tail}"
