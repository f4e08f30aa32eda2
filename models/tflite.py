"""Just enough of a TFLite model reader to take the weights out of one: no TensorFlow, no
flatbuffers package, no generated schema code.

A .tflite file is a FlatBuffer (schema: tensorflow/lite/schema/schema.fbs). We read the
tables we need by their field numbers: Model.operator_codes/subgraphs/buffers,
SubGraph.tensors/inputs/outputs/operators, Tensor.shape/type/buffer/name,
Operator.opcode_index/inputs/outputs, OperatorCode builtin/custom code, Buffer.data.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

# TensorType values → numpy dtypes (the ones weights come in).
TENSOR_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 9: np.int8}
# BuiltinOperator values for the ops we name; anything else keeps its number.
BUILTIN_OPS = {
    0: "ADD",
    1: "AVERAGE_POOL_2D",
    3: "CONV_2D",
    4: "DEPTHWISE_CONV_2D",
    6: "DEQUANTIZE",
    14: "LOGISTIC",
    18: "MUL",
    19: "RELU",
    23: "RESIZE_BILINEAR",
    32: "CUSTOM",
    40: "MEAN",
    117: "HARD_SWISH",
}


class _Table:
    """One FlatBuffer table: fields looked up through its vtable."""

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        size = struct.unpack_from("<H", buf, vtable)[0]
        self.offsets = struct.unpack_from(f"<{(size - 4) // 2}H", buf, vtable + 4)

    def _field(self, index: int) -> int | None:
        if index >= len(self.offsets) or self.offsets[index] == 0:
            return None
        return self.pos + self.offsets[index]

    def scalar(self, index: int, fmt: str, default=0):
        at = self._field(index)
        return default if at is None else struct.unpack_from("<" + fmt, self.buf, at)[0]

    def _target(self, index: int) -> int | None:
        at = self._field(index)
        return None if at is None else at + struct.unpack_from("<I", self.buf, at)[0]

    def string(self, index: int) -> str:
        at = self._target(index)
        if at is None:
            return ""
        length = struct.unpack_from("<I", self.buf, at)[0]
        return self.buf[at + 4 : at + 4 + length].decode("utf-8")

    def vector(self, index: int, dtype) -> np.ndarray:
        at = self._target(index)
        if at is None:
            return np.zeros(0, dtype)
        length = struct.unpack_from("<I", self.buf, at)[0]
        return np.frombuffer(self.buf, dtype, length, at + 4)

    def tables(self, index: int) -> list[_Table]:
        at = self._target(index)
        if at is None:
            return []
        length = struct.unpack_from("<I", self.buf, at)[0]
        items = []
        for i in range(length):
            slot = at + 4 + 4 * i
            items.append(_Table(self.buf, slot + struct.unpack_from("<I", self.buf, slot)[0]))
        return items


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: type
    buffer: int


@dataclass(frozen=True)
class Op:
    kind: str  # builtin name, or the custom op's name
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


class TFLiteModel:
    """The first subgraph of a .tflite file: tensors, operators in order, constant data."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 8 or data[4:8] != b"TFL3":
            raise ValueError("not a TFLite model (no TFL3 identifier)")
        model = _Table(data, struct.unpack_from("<I", data, 0)[0])
        codes = []
        for code in model.tables(1):
            number = max(code.scalar(0, "b"), code.scalar(3, "i"))
            codes.append(code.string(1) if number == 32 else BUILTIN_OPS.get(number, str(number)))
        graph = model.tables(2)[0]
        self.tensors = [
            Tensor(
                t.string(3),
                tuple(int(s) for s in t.vector(0, np.int32)),
                TENSOR_TYPES.get(t.scalar(1, "b"), np.uint8),
                t.scalar(2, "I"),
            )
            for t in graph.tables(0)
        ]
        self.inputs = tuple(int(i) for i in graph.vector(1, np.int32))
        self.outputs = tuple(int(i) for i in graph.vector(2, np.int32))
        self.ops = [
            Op(
                codes[op.scalar(0, "I")],
                tuple(int(i) for i in op.vector(1, np.int32)),
                tuple(int(i) for i in op.vector(2, np.int32)),
            )
            for op in graph.tables(3)
        ]
        self._buffers = [b.vector(0, np.uint8) for b in model.tables(4)]

    def constant(self, index: int) -> np.ndarray | None:
        """A tensor's constant data (float32), following a DEQUANTIZE back to its fp16 source."""
        for op in self.ops:
            if op.kind == "DEQUANTIZE" and op.outputs[0] == index:
                index = op.inputs[0]
                break
        tensor = self.tensors[index]
        raw = self._buffers[tensor.buffer] if tensor.buffer < len(self._buffers) else None
        if raw is None or raw.size == 0:
            return None
        values = np.frombuffer(raw.tobytes(), tensor.dtype)
        return values.reshape(tensor.shape).astype(np.float32)

    def weighted_ops(self) -> list[tuple[Op, np.ndarray, np.ndarray]]:
        """(op, kernel, bias) for every convolution-like op, in graph order."""
        found = []
        for op in self.ops:
            if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "Convolution2DTransposeBias"):
                kernel, bias = self.constant(op.inputs[1]), self.constant(op.inputs[2])
                if kernel is None or bias is None:
                    raise ValueError(f"{op.kind} without constant weights")
                found.append((op, kernel, bias))
        return found
