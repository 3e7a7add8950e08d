#!/usr/bin/env python3
"""Writes a trained dq model as a PyTorch state_dict (docs/Runtime.md,
"Back to PyTorch"):

    export_to_torch.py out/model --state run/model.dqm -o trained.pt \\
        [--torch-model model.pt] [--no-extras]

The state (dq-train's model.dqm, final.state or a checkpoint) is read with
the model's manifest (python/dq_runtime/statefile.py checks it as the C++
runtime does). Every quantized weight is dequantized (the bipolar level of
its code under its output channel's basis, docs/Numerics.md) and every
tensor is put in PyTorch's layout under the module's names:

    conv weight   OHWI -> OIHW          depthwise  [KH,KW,C,M] -> [C*M,1,KH,KW]
    linear weight [1,in,out] -> [out,in] linear bias [1,1,out] -> [out]
    batch norm    gamma -> weight, beta -> bias, running_mean/var as they are

With --torch-model (the TorchScript module the model was imported from) the
names and shapes are checked against the module's state_dict and its
buffers dq has no counterpart of (num_batches_tracked) are copied from it;
a dq tensor the module does not have is an error unless it is a bias the
importer added that stayed zero. Extras (unless --no-extras), under names a
module does not have, so load_state_dict(sd, strict=False) ignores them:

    <layer>.weight.codes   uint8, in the weight's PyTorch layout
    <layer>.weight.basis   [out channels, K]
    <layer>.input.basis    [K], the activation quantizer of the layer's input
    dq.input_mean, dq.input_std   the input normalization of pixels/255

    model.load_state_dict(torch.load("trained.pt"), strict=False)
    attach_activation_quantizers(model, torch.load("trained.pt"))

gives the quantized model dq-run runs, activation quantizers included (as
forward pre-hooks; without them the model runs with full-precision
activations).
"""

import argparse
import collections
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
from dq_reference import quantizers  # noqa: E402
from dq_runtime import statefile  # noqa: E402


class ExportError(ValueError):
    pass


def _codes_axis(codes_shape, rows):
    """The output-channel axis of a codes tensor in dq's layout: 0 for a
    convolution (OHWI), the last for a matmul ([1, in, out]), 2 for a
    depthwise convolution ([KH, KW, C, M])."""
    rank = len(codes_shape)
    order = {4: (0, 2, 3), 3: (2,), 2: (1, 0)}.get(rank, tuple(range(rank)))
    for axis in order:
        if codes_shape[axis] == rows:
            return axis
    raise ExportError("codes of shape %s match no basis of %d rows" %
                      (list(codes_shape), rows))


def _layouts(array):
    """The PyTorch layouts a dq tensor may have, most likely first:
    (description, tensor)."""
    t = torch.from_numpy(np.array(array, copy=True))
    if t.dim() == 4:
        kh, kw, c, m = t.shape
        return [("conv OHWI -> OIHW", t.permute(0, 3, 1, 2)),
                ("depthwise [KH,KW,C,M] -> [C*M,1,KH,KW]",
                 t.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw))]
    if t.dim() == 3 and t.shape[0] == 1 and t.shape[1] == 1:
        return [("[1,1,n] -> [n]", t.reshape(-1)), ("as is", t)]
    if t.dim() == 3 and t.shape[0] == 1:
        return [("[1,in,out] -> [out,in]", t[0].t()), ("as is", t)]
    if t.dim() == 2:
        return [("[in,out] -> [out,in]", t.t()), ("as is", t)]
    return [("as is", t)]


def _to_torch(name, array, want_shape):
    """`array` in the layout whose shape is `want_shape` (the module's), or
    the most likely one without a module."""
    layouts = _layouts(array)
    if want_shape is None:
        return layouts[0][1].contiguous(), layouts[0][0]
    fits = [(d, t) for d, t in layouts if tuple(t.shape) == tuple(want_shape)]
    distinct = []
    for d, t in fits:
        if not any(torch.equal(t, u) for _, u in distinct):
            distinct.append((d, t))
    if not fits:
        raise ExportError("'%s': dq's %s fits none of the layouts of the "
                          "module's %s (%s)" %
                          (name, list(array.shape), list(want_shape),
                           ", ".join(d for d, _ in layouts)))
    if len(distinct) > 1:
        raise ExportError("'%s': dq's %s fits the module's %s two ways (%s); "
                          "the layout is ambiguous" %
                          (name, list(array.shape), list(want_shape),
                           " or ".join(d for d, _ in distinct)))
    return fits[0][1].contiguous(), fits[0][0]


def _torch_name(dq_name):
    """dq's name of a tensor -> the PyTorch module's (batch norm's gamma and
    beta are its weight and bias)."""
    for dq_suffix, suffix in ((".gamma", ".weight"), (".beta", ".bias")):
        if dq_name.endswith(dq_suffix):
            return dq_name[:-len(dq_suffix)] + suffix
    return dq_name


def _attribute_path(value):
    """The module path of a value made by a chain of prim::GetAttr
    ("layer1.0.conv1.weight"), or ""."""
    parts = []
    node = value.node()
    while node.kind() == "prim::GetAttr":
        parts.append(node.s("name"))
        node = node.input().node()
    return ".".join(reversed(parts))


def conv_batch_norms(module):
    """{convolution weight: batch norm running_mean} for every convolution
    without a bias whose output goes straight into a batch norm, from the
    TorchScript module's inlined graph."""
    pairs = {}
    try:
        nodes = list(module.inlined_graph.nodes())
    except RuntimeError:
        return pairs
    for node in nodes:
        if node.kind() != "aten::batch_norm":
            continue
        inputs = list(node.inputs())
        source = inputs[0].node()
        if source.kind() not in ("aten::_convolution", "aten::conv2d"):
            continue
        conv_inputs = list(source.inputs())
        if conv_inputs[2].node().kind() != "prim::Constant" or \
                not conv_inputs[2].type().kind() == "NoneType":
            continue  # the convolution has a bias of its own
        weight, mean = (_attribute_path(conv_inputs[1]),
                        _attribute_path(inputs[3]))
        if weight and mean:
            pairs[weight] = mean
    return pairs


def convert(manifest, trained, module_state=None, extras=True,
            batch_norm_after=None):
    """The state_dict (an OrderedDict of tensors), the number of dequantized
    weights and a list of notes. `batch_norm_after` (conv_batch_norms)
    lets the bias dq-import gave a convolution without one fold into the
    batch norm after it."""
    tensors, roles = trained.tensors, trained.roles
    module_state = module_state or {}
    batch_norm_after = batch_norm_after or {}
    folds = []
    out, notes = collections.OrderedDict(), []
    dequantized = 0
    consumed = set()
    for name, array in tensors.items():
        role = roles[name]
        if role == "codes":
            layer = name[:-len(".codes")]          # <layer>.weight
            basis = tensors.get(layer + ".basis")
            if basis is None:
                raise ExportError("codes '%s' have no basis" % name)
            axis = _codes_axis(array.shape, basis.shape[0])
            weight = quantizers.decode_weights(
                torch.from_numpy(array.astype(np.int64)),
                torch.from_numpy(np.array(basis, copy=True)), axis).numpy()
            want = module_state.get(layer)
            if module_state and want is None:
                raise ExportError("'%s': the module has no '%s'" %
                                  (name, layer))
            value, layout = _to_torch(
                layer, weight, None if want is None else want.shape)
            out[layer] = value
            consumed.update({name, layer + ".basis"})
            dequantized += 1
            if extras:
                codes, _ = _to_torch(layer, array, value.shape)
                out[layer + ".codes"] = codes.to(torch.uint8)
                out[layer + ".basis"] = torch.from_numpy(basis.copy())
            continue
        if role == "basis":
            continue  # with its codes
        if role == "act_basis":
            consumed.add(name)
            if extras:
                out[name] = torch.from_numpy(array.copy())
            continue
        target = _torch_name(name)
        want = module_state.get(target)
        if module_state and want is None:
            # A bias dq-import added to a convolution without one: in eval
            # mode, batch norm of (conv + b) is batch norm of conv with
            # running_mean - b, exactly.
            conv = name[:-len(".bias")] + ".weight"
            if (role == "param" and name.endswith(".bias") and
                    conv in batch_norm_after and array.ndim == 1):
                folds.append((name, batch_norm_after[conv], array))
                consumed.add(name)
                continue
            if (role == "param" and name.endswith(".bias") and
                    float(np.abs(array).max(initial=0)) == 0):
                notes.append("dropped '%s' (the module has none; it is "
                             "zero)" % name)
                consumed.add(name)
                continue
            raise ExportError("'%s' (%s, %s) has no counterpart '%s' in the "
                              "module" % (name, role, list(array.shape),
                                          target))
        value, _ = _to_torch(name, array,
                             None if want is None else want.shape)
        out[target] = value
        consumed.add(name)
    for name, mean, bias in folds:
        if mean not in out or tuple(out[mean].shape) != bias.shape:
            raise ExportError("'%s' cannot fold into '%s'" % (name, mean))
        out[mean] = out[mean] - torch.from_numpy(np.array(bias, copy=True))
        notes.append("folded '%s' (the module's convolution has no bias) "
                     "into '%s'" % (name, mean))
    # The module's buffers dq has no counterpart of.
    for key, value in module_state.items():
        if key in out:
            if out[key].dtype != value.dtype:
                out[key] = out[key].to(value.dtype)
            continue
        if key.endswith(".num_batches_tracked"):
            out[key] = value.clone()
            continue
        raise ExportError("the module's '%s' %s has no counterpart in the dq "
                          "state" % (key, list(value.shape)))
    if extras:
        p = statefile.effective_preprocess(manifest)
        out["dq.input_mean"] = torch.tensor(p["mean"], dtype=torch.float32)
        out["dq.input_std"] = torch.tensor(p["std"], dtype=torch.float32)
    return out, dequantized, notes


def attach_activation_quantizers(module, state_dict):
    """Registers, for every '<layer>.input.basis' of `state_dict`, a forward
    pre-hook on module <layer> that quantizes its input as dq's predict does
    (dq.quantize_act: clamp below at 0, nearest level of the unipolar
    basis). Returns the hook handles."""
    handles = []
    for key, basis in state_dict.items():
        if not key.endswith(".input.basis"):
            continue
        layer = module.get_submodule(key[:-len(".input.basis")])
        u = basis.clone()

        def hook(_, inputs, u=u):
            return (quantizers.quantize_act(inputs[0], u),) + tuple(inputs[1:])
        handles.append(layer.register_forward_pre_hook(hook))
    return handles


def normalize_images(images, state_dict):
    """uint8 NHWC pixels -> the float32 NCHW inputs the model was trained on
    (dq.input_mean / dq.input_std of the state_dict)."""
    mean = state_dict["dq.input_mean"].numpy()
    std = state_dict["dq.input_std"].numpy()
    x = (images.astype(np.float32) / np.float32(255.0) - mean) / std
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write a trained dq model as a PyTorch state_dict of "
                    "dequantized weights (plus codes and bases).")
    parser.add_argument("model", help="prefix of dq-compile's output (or its "
                        ".manifest.json)")
    parser.add_argument("--state", required=True,
                        help="model.dqm, final.state or a checkpoint")
    parser.add_argument("-o", dest="output", required=True,
                        help="the .pt file to write (torch.save)")
    parser.add_argument("--torch-model",
                        help="the TorchScript module the model was imported "
                             "from: names and shapes are checked against it")
    parser.add_argument("--no-extras", action="store_true",
                        help="only the module's tensors (codes, bases and "
                             "the input normalization left out)")
    args = parser.parse_args(argv)
    try:
        manifest = statefile.load_manifest(args.model)
        if manifest.get("kind") == "inference":
            raise ExportError("%s: an inference model carries its tensors in "
                              "its code; export the training model's state"
                              % manifest["_path"])
        trained = statefile.read_trained_state(args.state, manifest)
        module_state = None
        if args.torch_model:
            try:
                module = torch.jit.load(args.torch_model, map_location="cpu")
            except Exception as e:  # RuntimeError, ValueError of torch
                raise ExportError("%s: not a TorchScript module (%s)" %
                                  (args.torch_model, str(e).splitlines()[0]))
            module_state = module.state_dict()
        state_dict, dequantized, notes = convert(
            manifest, trained, module_state, extras=not args.no_extras,
            batch_norm_after=conv_batch_norms(module) if args.torch_model
            else None)
        output = args.output
        if os.path.islink(output) or (os.path.exists(output) and
                                      not os.path.isfile(output)):
            raise ExportError("%s: not a regular file; refusing to replace "
                              "it" % output)
        directory = os.path.dirname(os.path.abspath(output))
        temporary = os.path.join(directory, ".%s.tmp.%d" %
                                 (os.path.basename(output), os.getpid()))
        try:
            torch.save(state_dict, temporary)
            os.replace(temporary, output)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    except (ExportError, statefile.StateFileError, OSError) as e:
        sys.stderr.write("export_to_torch: %s\n" % e)
        return 1
    for note in notes:
        sys.stderr.write("export_to_torch: note: %s\n" % note)
    module_keys = [k for k in state_dict if not (
        k.startswith("dq.") or k.endswith((".codes", ".basis")))]
    print("export_to_torch: wrote %s: %d tensors of the module (%d dequantized "
          "from codes)%s, from %s (%s)" %
          (args.output, len(module_keys), dequantized,
           "" if args.no_extras else
           ", %d extras" % (len(state_dict) - len(module_keys)),
           args.state, trained.kind))
    return 0


if __name__ == "__main__":
    sys.exit(main())
