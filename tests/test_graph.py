import numpy as np
import pytest

from eie_sim.model import graph
from eie_sim.model.network import Network
from eie_sim.model.ops import Concat, Layer, Pool
from eie_sim.model.shapes import conv_output_size, pool_output_size


def direct_conv(x, w, stride, pad):
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out_c, _, k, _ = w.shape
    out_h = (x.shape[1] - k) // stride + 1
    out_w = (x.shape[2] - k) // stride + 1
    out = np.zeros((out_c, out_h, out_w))
    for o in range(out_c):
        for i in range(out_h):
            for j in range(out_w):
                out[o, i, j] = np.sum(w[o] * x[:, i * stride : i * stride + k, j * stride : j * stride + k])
    return out


@pytest.mark.parametrize("kernel,stride,pad", [(1, 1, 0), (3, 1, 1), (7, 2, 0), (3, 2, 1)])
def test_im2col_matches_direct_convolution(kernel, stride, pad):
    rng = np.random.default_rng(kernel + stride + pad)
    x = rng.normal(size=(3, 11, 9))
    w = rng.normal(size=(4, 3, kernel, kernel))
    patches = graph.im2col(x, kernel, stride, pad)
    out_h = conv_output_size(11, kernel, stride, pad)
    out_w = conv_output_size(9, kernel, stride, pad)
    got = (patches @ w.reshape(4, -1).T).T.reshape(4, out_h, out_w)
    np.testing.assert_allclose(got, direct_conv(x, w, stride, pad))


@pytest.mark.parametrize("size,expected", [(111, 55), (55, 27), (27, 13), (6, 3)])
def test_pool_sizes_follow_caffe_ceil_mode(size, expected):
    assert pool_output_size(size, 3, 2, 0) == expected


def test_max_and_average_pool_in_float_and_fixed():
    x = np.arange(2 * 5 * 5, dtype=np.int64).reshape(2, 5, 5)
    net = Network("p", (Pool("mp", "max", 3, 2), Pool("ap", "avg", 3, 2, inputs=("input",))), input=x.astype(float))
    fixed = graph.run(net, {"input": x}, matvec=None, fixed=True).tensors
    assert fixed["mp"].shape == (2, 2, 2)
    assert fixed["mp"][0].tolist() == [[12, 14], [22, 24]]
    # ceil mode: the last window covers rows/cols 2..4 -> full 3x3 windows here
    assert fixed["ap"][0, 0, 0] == 6 and fixed["ap"][0, 1, 1] == 18
    floats = graph.run(net, {"input": x.astype(float)}, matvec=None, fixed=False).tensors
    assert floats["ap"][0, 0, 0] == pytest.approx(6.0)


def test_average_pool_divides_by_the_clipped_window():
    x = np.ones((1, 4, 4), dtype=np.int64) * 9
    net = Network("p", (Pool("ap", "avg", 3, 2),), input=x.astype(float))
    out = graph.run(net, {"input": x}, matvec=None, fixed=True).tensors["ap"]
    # windows at 0 and 2; the second is clipped to rows 2..3, so its divisor is 2 (rows) x 2 (cols) at the corner
    assert out.shape == (1, 2, 2) and np.all(out == 9)


def test_global_pool_and_concat():
    a = np.full((2, 3, 3), 4, dtype=np.int64)
    codes = np.ones((1, 2, 1, 1), dtype=np.uint8)
    layer = Layer.from_codes("c", "conv", codes, np.array([0.0, 1.0], dtype=np.float32), inputs=("input",), relu=False)
    net = Network(
        "g",
        (layer, Concat("cat", ("input", "c")), Pool("gap", "avg", global_=True, inputs=("cat",))),
        input=a.astype(float),
    )

    def matvec(layer, vectors):
        return vectors @ layer.codes.dense().T.astype(np.int64)

    out = graph.run(net, {"input": a}, matvec, fixed=True).tensors
    assert out["cat"].shape == (3, 3, 3)
    assert out["gap"].ravel().tolist() == [4, 4, 8]
