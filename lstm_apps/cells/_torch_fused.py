"""PyTorch's fused LSTM kernel for the standard cell on the torch backend.

`torch._VF.lstm` is the kernel behind `torch.nn.LSTM`: the whole time loop in
C++ (cuDNN on CUDA), forward and backward. Keras's torch backend calls it only
on CUDA and runs a Python loop on the CPU; `lstm_apps.LSTM` calls it on every
device where the cell computes exactly what the kernel computes (see
`applies`). The weights keep the layout of `keras.layers.LSTMCell` (gate order
i, f, c, o is also PyTorch's): the kernel gets them transposed, the bias as
its input bias and zeros as its recurrent bias, with the gradients flowing
back to the Keras variables.

Masks: a right-padded mask without empty rows (what `Embedding(mask_zero=True)`
gives for padding at the end) runs as a packed sequence; the outputs at the
padded steps are then filled in as Keras's loop fills them. Any other mask,
or a mask with `go_backwards`, is left to the caller's loop (`lstm` returns
`None`).
"""

from __future__ import annotations

from typing import Any

import keras

from lstm_apps.cells._base import GateSpec, LSTMCellBase

__all__ = ["applies", "lstm"]

_STANDARD = GateSpec()

if keras.backend.backend() == "torch":
    import torch
    from torch.nn.utils import rnn as _torch_rnn


def applies(cell: LSTMCellBase, training: Any, unroll: bool) -> bool:
    """Whether `lstm` may run `cell`: the torch backend, the standard cell's
    structure, `tanh` and `sigmoid`, no recurrent dropout in training, no
    `unroll` and no clamped gate. (Input dropout is applied to the inputs first.)"""
    if keras.backend.backend() != "torch" or unroll:
        return False
    if not isinstance(cell, LSTMCellBase) or cell.spec != _STANDARD:
        return False
    if getattr(cell, "gate_clamp", None) is not None:  # the kernel cannot hold a gate
        return False
    if cell.activation not in (keras.activations.tanh, keras.ops.tanh):
        return False
    if cell.recurrent_activation not in (keras.activations.sigmoid, keras.ops.sigmoid):
        return False
    if training not in (False, None) and cell.recurrent_dropout > 0.0:
        return False
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return False
    return True


def _right_padded_lengths(mask: Any) -> Any:
    """The lengths of a right-padded mask without empty rows, else `None`."""
    lengths = mask.sum(dim=1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    padded = steps.unsqueeze(0) < lengths.unsqueeze(1)
    if bool(torch.all(mask == padded)) and bool(torch.all(lengths > 0)):
        return lengths
    return None


def lstm(
    cell: LSTMCellBase,
    inputs: Any,
    initial_state: list[Any],
    mask: Any = None,
    go_backwards: bool = False,
    return_sequences: bool = False,
    zero_output_for_mask: bool = False,
    training: Any = False,
) -> tuple[Any, Any, list[Any]] | None:
    """The time loop of `keras.layers.RNN(cell)` in one `torch._VF.lstm` call.

    Call only where `applies(cell, training, unroll)`. Returns Keras's
    `(last_output, outputs, [h, c])` (`outputs` is `(batch, 1, units)` unless
    `return_sequences`), or `None` for a mask the kernel cannot run.
    """
    kernel = keras.ops.convert_to_tensor(cell.kernel)
    dtype = kernel.dtype
    x = keras.ops.convert_to_tensor(inputs).to(dtype)
    if dtype in (torch.float16, torch.bfloat16) and x.device.type == "cpu":
        return None  # the CPU kernel computes in float32 or float64 only
    lengths = None
    if mask is not None and x.device.type != "meta":  # meta: shapes only
        if go_backwards:
            return None  # reversed, right padding becomes left padding
        lengths = _right_padded_lengths(keras.ops.convert_to_tensor(mask).to(torch.bool))
        if lengths is None:
            return None
    if training not in (False, None) and 0.0 < cell.dropout < 1.0:
        x = x * keras.ops.convert_to_tensor(cell.get_dropout_mask(x[:, 0])).unsqueeze(1)
    if go_backwards:
        x = torch.flip(x, dims=[1])
    recurrent_kernel = keras.ops.convert_to_tensor(cell.recurrent_kernel)
    params = [kernel.T.contiguous(), recurrent_kernel.T.contiguous()]
    if cell.use_bias:
        bias = keras.ops.convert_to_tensor(cell.bias).to(dtype)
        params += [bias, torch.zeros_like(bias)]
    h0, c0 = (keras.ops.convert_to_tensor(s).to(dtype).unsqueeze(0) for s in initial_state[:2])
    train = torch.is_grad_enabled()
    if lengths is None:
        outputs, h, c = torch._VF.lstm(
            x, (h0, c0), params, cell.use_bias, 1, 0.0, train, False, True
        )
        h, c = h.squeeze(0), c.squeeze(0)
        last = outputs[:, -1]
    else:
        outputs, h, c = _packed(x, lengths, h0, c0, params, cell.use_bias, train)
        if not zero_output_for_mask:
            # Keras's loop repeats the last output over the padded steps.
            steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)
            index = torch.minimum(steps, (lengths - 1).unsqueeze(1))
            outputs = torch.gather(outputs, 1, index.unsqueeze(-1).expand_as(outputs))
        last = outputs[:, -1]
    if not return_sequences:
        outputs = last.unsqueeze(1)
    return last, outputs, [h, c]


def _packed(
    x: Any, lengths: Any, h0: Any, c0: Any, params: list[Any], has_biases: bool, train: bool
) -> tuple[Any, Any, Any]:
    """`torch._VF.lstm` over the packed sequence; padded outputs are zeros."""
    packed = _torch_rnn.pack_padded_sequence(
        x, lengths.cpu(), batch_first=True, enforce_sorted=False
    )
    order = packed.sorted_indices
    data, h, c = torch._VF.lstm(
        packed.data,
        packed.batch_sizes,
        (h0.index_select(1, order), c0.index_select(1, order)),
        params,
        has_biases,
        1,
        0.0,
        train,
        False,
    )
    outputs, _ = _torch_rnn.pad_packed_sequence(
        _torch_rnn.PackedSequence(data, packed.batch_sizes, order, packed.unsorted_indices),
        batch_first=True,
        total_length=x.shape[1],
    )
    back = packed.unsorted_indices
    return outputs, h.index_select(1, back).squeeze(0), c.index_select(1, back).squeeze(0)
