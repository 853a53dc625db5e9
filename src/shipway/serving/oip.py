"""The Open Inference Protocol (KServe V2, as Triton speaks it) on the wire.

Tensors travel as JSON (``data``) or, with the binary tensor data extension, as raw bytes
after the JSON header (``parameters.binary_data_size`` on an input, the
``Inference-Header-Content-Length`` header giving the header's length). Outputs go back as
binary when the request asks (``binary_data`` on an output, or ``binary_data_output`` on the
request, which is what tritonclient sends by default). Every datatype of the protocol is
read and written, BYTES included (a little-endian 4-byte length before each element).

Every problem is an :class:`InvalidArgument` that names the tensor, so the server answers 400.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

from shipway.errors import InvalidArgument
from shipway.web.bodies import parse_json

HEADER_LENGTH = "inference-header-content-length"
# Each datatype as a little-endian numpy dtype; BYTES elements are Python bytes.
DTYPES = {
    "BOOL": "|b1",
    "UINT8": "|u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "|i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "BF16": "<f4",  # read into float32 (numpy has no bfloat16); two bytes each on the wire
    "BYTES": "O",
}
# What a signature's column type is sent as, and which datatypes a column of it accepts.
FROM_SIGNATURE = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}
_NUMERIC = {name for name in DTYPES if name.startswith(("INT", "UINT", "FP"))}
_ACCEPTS = {
    "boolean": {"BOOL"},
    **{t: _NUMERIC for t in ("integer", "long", "float", "double")},
    **{t: {"BYTES"} for t in ("string", "binary", "datetime")},
}
PROBABILITIES = "probabilities"
MODEL_VERSION = "model_version"  # the version that answered each row (two in an A/B split)


@dataclass
class Tensor:
    """One named tensor: its datatype, shape and values (a flat numpy array)."""

    name: str
    datatype: str
    shape: list[int]
    values: Any
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class InferRequest:
    """A decoded inference request: its ``id``, input tensors and the outputs it asks for
    (output name -> as binary; None asks for every output, binary when ``binary_default``)."""

    id: Any
    inputs: list[Tensor]
    outputs: dict[str, bool | None] | None
    binary_default: bool


def datatype_of(array: Any) -> str:
    """The protocol's datatype for a numpy array."""
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "b":
        return "BOOL"
    if kind in "iu":
        return f"{'UINT' if kind == 'u' else 'INT'}{size * 8}"
    if kind == "f" and size in (2, 4, 8):
        return f"FP{size * 8}"
    return "BYTES"


# -- requests ------------------------------------------------------------------------------
def parse_request(body: bytes, header_length: str | None) -> InferRequest:
    """An inference request from its body, JSON alone or JSON followed by binary tensors."""
    split = _header_length(header_length, len(body))
    header, binary = (body, b"") if split is None else (body[:split], body[split:])
    document = parse_json(header, "the inference request's JSON header" if split else "the body")
    if not isinstance(document, dict):
        raise InvalidArgument("an inference request is a JSON object")
    tensors = document.get("inputs")
    if not isinstance(tensors, list) or not tensors:
        raise InvalidArgument("an inference request needs a non-empty 'inputs' list")
    inputs, offset = [], 0
    for i, tensor in enumerate(tensors):
        decoded, offset = _input(i, tensor, binary, offset)
        inputs.append(decoded)
    if offset != len(binary):
        raise InvalidArgument(
            f"the request carries {len(binary)} bytes of binary tensor data and its inputs "
            f"declare {offset} (parameters.binary_data_size)"
        )
    parameters = _parameters(document, "the request")
    return InferRequest(
        document.get("id"),
        inputs,
        _requested_outputs(document.get("outputs")),
        parameters.get("binary_data_output") is True,
    )


def _header_length(value: str | None, size: int) -> int | None:
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        length = -1
    if not 0 <= length <= size:
        raise InvalidArgument(
            f"Inference-Header-Content-Length is {value!r}; it is the JSON header's length in "
            f"bytes, between 0 and the body's {size}"
        )
    return length


def _parameters(document: dict[str, Any], what: str) -> dict[str, Any]:
    parameters = document.get("parameters", {})
    if not isinstance(parameters, dict):
        raise InvalidArgument(f"{what}'s 'parameters' is an object")
    return parameters


def _input(i: int, tensor: Any, binary: bytes, offset: int) -> tuple[Tensor, int]:
    where = f"inputs[{i}]"
    if not isinstance(tensor, dict):
        raise InvalidArgument(f"{where} is an object with 'name', 'shape', 'datatype' and 'data'")
    name, shape, datatype = tensor.get("name"), tensor.get("shape"), tensor.get("datatype")
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"{where} needs a 'name': the column (or columns) it holds")
    where = f"{where} ({name!r})"
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise InvalidArgument(f"{where}.shape is a list of sizes, e.g. [3] or [3, 20]")
    if not isinstance(datatype, str) or datatype not in DTYPES:
        raise InvalidArgument(
            f"{where}.datatype {datatype!r} is not a datatype of the protocol",
            hint=f"use one of {', '.join(DTYPES)}",
        )
    count = math.prod(shape)
    size = _parameters(tensor, where).get("binary_data_size")
    if size is not None:
        if "data" in tensor:
            raise InvalidArgument(f"{where} has both 'data' and parameters.binary_data_size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidArgument(f"{where}.parameters.binary_data_size is a number of bytes")
        if offset + size > len(binary):
            raise InvalidArgument(
                f"{where} declares {size} bytes of binary data; only {len(binary) - offset} remain"
            )
        values = _from_binary(where, datatype, count, binary[offset : offset + size])
        return Tensor(name, datatype, shape, values), offset + size
    if "data" not in tensor:
        raise InvalidArgument(f"{where} needs 'data' (or binary data after the JSON header)")
    return Tensor(name, datatype, shape, _from_json(where, datatype, count, tensor["data"])), offset


def _from_binary(where: str, datatype: str, count: int, raw: bytes) -> Any:
    import numpy as np

    if datatype == "BYTES":
        return np.array(_unpack_bytes(where, raw, count), dtype=object)
    if datatype == "BF16":  # the top half of a float32
        if len(raw) != count * 2:
            raise InvalidArgument(
                f"{where} has {len(raw)} bytes; its shape and BF16 need {count * 2}"
            )
        return (np.frombuffer(raw, dtype="<u2").astype("<u4") << 16).view("<f4")
    dtype = np.dtype(DTYPES[datatype])
    if len(raw) != count * dtype.itemsize:
        raise InvalidArgument(
            f"{where} has {len(raw)} bytes; its shape and {datatype} need {count * dtype.itemsize}"
        )
    if datatype == "BOOL" and any(b > 1 for b in raw):
        raise InvalidArgument(f"{where}: a BOOL element is one byte, 0 or 1")
    return np.frombuffer(raw, dtype=dtype)


def _unpack_bytes(where: str, raw: bytes, count: int) -> list[bytes]:
    elements, position = [], 0
    while position < len(raw):
        if position + 4 > len(raw):
            raise InvalidArgument(f"{where}: a BYTES element's 4-byte length is cut short")
        (length,) = struct.unpack_from("<I", raw, position)
        position += 4
        if position + length > len(raw):
            raise InvalidArgument(f"{where}: a BYTES element is longer than the data left")
        elements.append(raw[position : position + length])
        position += length
    if len(elements) != count:
        raise InvalidArgument(f"{where} has {len(elements)} BYTES elements for its shape's {count}")
    return elements


def _from_json(where: str, datatype: str, count: int, data: Any) -> Any:
    import numpy as np

    flat = _flatten(data)
    if len(flat) != count:
        raise InvalidArgument(f"{where} has {len(flat)} values for its shape's {count}")
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise InvalidArgument(f"{where} is BYTES: its data are strings")
        return np.array(flat, dtype=object)
    if datatype == "BOOL":
        wrong = next((v for v in flat if not isinstance(v, bool)), None)
    elif datatype.startswith(("INT", "UINT")):
        wrong = next((v for v in flat if isinstance(v, bool) or not isinstance(v, int)), None)
    else:
        wrong = next(
            (v for v in flat if isinstance(v, bool) or not isinstance(v, (int, float))), None
        )
    if wrong is not None:
        raise InvalidArgument(f"{where} is {datatype}, and {wrong!r} is not one")
    try:
        return np.array(flat, dtype=DTYPES[datatype])
    except OverflowError as exc:
        raise InvalidArgument(f"{where}: a value is out of range for {datatype}") from exc


def _flatten(data: Any) -> list[Any]:
    """Row-major values of a nested list (the protocol allows either form)."""
    if not isinstance(data, list):
        return [data]
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            flat.append(value)
        else:
            stack.pop()
    return flat


def _requested_outputs(outputs: Any) -> dict[str, bool | None] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in outputs
    ):
        raise InvalidArgument("'outputs' is a list of objects, each with a 'name'")
    wanted: dict[str, bool | None] = {}
    for i, output in enumerate(outputs):
        binary = _parameters(output, f"outputs[{i}]").get("binary_data", None)
        wanted[output["name"]] = binary
    return wanted  # None for an output that does not say: the request's default applies


# -- from tensors to a table and back -------------------------------------------------------
def to_frame(request: InferRequest, types: dict[str, str] | None) -> Any:
    """The request's rows as a DataFrame: one tensor per column (shape [n] or [n, 1]), or one
    [n, k] tensor whose columns follow the signature. ``types`` maps each input column to
    its signature type, in order (None without a signature)."""
    import pandas as pd

    columns = list(types) if types else None
    inputs = request.inputs
    if len(inputs) == 1 and len(inputs[0].shape) == 2 and inputs[0].shape[1] != 1:
        tensor = inputs[0]
        rows, width = tensor.shape
        if columns is not None and width != len(columns):
            raise InvalidArgument(
                f"inputs[0] ({tensor.name!r}) has {width} columns; the model takes "
                f"{len(columns)}: {', '.join(columns)}"
            )
        for column in columns or ():
            _check_type(0, tensor, column, (types or {})[column])
        values = _column_values(tensor)
        return pd.DataFrame(values.reshape(rows, width), columns=columns)
    data: dict[str, Any] = {}
    for i, tensor in enumerate(inputs):
        if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise InvalidArgument(
                f"inputs[{i}] ({tensor.name!r}) has shape {tensor.shape}: a column is [n] or "
                "[n, 1], and only a lone input may be an [n, k] table"
            )
        if types and tensor.name in types:
            _check_type(i, tensor, tensor.name, types[tensor.name])
        data[tensor.name] = _column_values(tensor)
    lengths = {len(v) for v in data.values()}
    if len(lengths) > 1:
        raise InvalidArgument(f"the input columns have different lengths: {sorted(lengths)}")
    return pd.DataFrame(data)


def _check_type(i: int, tensor: Tensor, column: str, kind: str) -> None:
    if tensor.datatype not in _ACCEPTS.get(kind, set(DTYPES)):
        raise InvalidArgument(
            f"inputs[{i}] ({tensor.name!r}) is {tensor.datatype}; the model's column {column!r} "
            f"is {kind}",
            hint=f"send it as {FROM_SIGNATURE.get(kind, 'BYTES')}",
        )


def _column_values(tensor: Tensor) -> Any:
    """Values as a column takes them: BYTES as text where it is UTF-8."""
    import numpy as np

    if tensor.datatype != "BYTES":
        return tensor.values
    decoded = []
    for value in tensor.values:
        if isinstance(value, bytes):
            with contextlib.suppress(UnicodeDecodeError):  # a binary column keeps its bytes
                value = value.decode("utf-8")
        decoded.append(value)
    return np.array(decoded, dtype=object)


def output_tensor(
    name: str, values: Any, parameters: dict[str, Any] | None = None, dtype: str | None = None
) -> Tensor:
    """An output tensor from a model's answer (a list or an array)."""
    import numpy as np

    array = np.asarray(values, dtype=dtype)
    if array.dtype.kind in "OUS":
        array = np.array([_text(v) for v in array.reshape(-1)], dtype=object).reshape(array.shape)
    return Tensor(name, datatype_of(array), list(array.shape), array, dict(parameters or {}))


def _text(value: Any) -> Any:
    return value if isinstance(value, (str, bytes)) else str(value)


def encode_response(
    name: str, version: int | None, request_id: str, tensors: list[Tensor], request: InferRequest
) -> tuple[bytes, dict[str, str]]:
    """The response body and its headers: JSON alone, or JSON and then the binary outputs.
    ``version`` is None when two versions answered (the ``model_version`` output says which
    row had which), and the body then leaves ``model_version`` out, as the protocol allows."""
    outputs, binary = [], []
    for tensor in tensors:
        as_binary = request.binary_default
        if request.outputs is not None and request.outputs.get(tensor.name) is not None:
            as_binary = bool(request.outputs[tensor.name])
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": tensor.shape,
        }
        parameters = dict(tensor.parameters)
        if as_binary:
            raw = _to_binary(tensor)
            parameters["binary_data_size"] = len(raw)
            binary.append(raw)
        else:
            entry["data"] = _to_json(tensor)
        if parameters:
            entry["parameters"] = parameters
        outputs.append(entry)
    document: dict[str, Any] = {"model_name": name, "id": request_id, "outputs": outputs}
    if version is not None:
        document["model_version"] = str(version)
    header = json.dumps(document, separators=(",", ":")).encode()
    if not binary:
        return header, {"content-type": "application/json"}
    return header + b"".join(binary), {
        "content-type": "application/octet-stream",
        HEADER_LENGTH: str(len(header)),
    }


def _to_json(tensor: Tensor) -> list[Any]:
    values = tensor.values.reshape(-1)
    if tensor.datatype == "BYTES":
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in values]
    return list(values.tolist())


def _to_binary(tensor: Tensor) -> bytes:
    values = tensor.values.reshape(-1)
    if tensor.datatype != "BYTES":
        return bytes(values.astype(DTYPES[tensor.datatype]).tobytes())
    parts = []
    for value in values:
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        parts.append(struct.pack("<I", len(raw)) + raw)
    return b"".join(parts)
