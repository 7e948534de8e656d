"""Chrono initialisation (Tallec & Ollivier 2018): formula, distribution, errors, saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy import stats

import lstm_apps
from lstm_apps import cells
from lstm_apps.cells import ChronoInitializer


def _bias_blocks(cell, input_dim=3):
    cell.build((None, input_dim))
    bias = np.asarray(keras.ops.convert_to_numpy(cell.bias), dtype=np.float64)
    return dict(zip(cell.spec.blocks, np.split(bias, len(cell.spec.blocks))))


def _expected_mean_log(t_max):
    # E[log u], u ~ U(1, t_max - 1)
    hi = t_max - 1.0
    return (hi * np.log(hi) - hi + 1.0) / (hi - 1.0)


@pytest.mark.backend
def test_forget_bias_follows_the_log_uniform_distribution():
    # A large draw from the initializer the cells use (a 20000-unit cell
    # would need a 20000 x 80000 recurrent kernel).
    t_max, units = 100, 20000
    bias = np.asarray(ChronoInitializer(t_max, seed=7)((4 * units,)), dtype=np.float64)
    i, f, c, o = np.split(bias, 4)
    assert f.min() >= 0.0 and f.max() <= np.log(t_max - 1) + 1e-5
    # exp(b_f) is U(1, T_max - 1): its mean, spread and a KS test.
    u = np.exp(f)
    assert abs(u.mean() - t_max / 2) < 1.0
    assert abs(u.std() - (t_max - 2) / np.sqrt(12)) < 1.0
    assert stats.kstest(u, "uniform", args=(1.0, t_max - 2.0)).pvalue > 1e-3
    assert abs(f.mean() - _expected_mean_log(t_max)) < 0.02
    # The input bias is the negative of the same draw; the other blocks are zeros.
    np.testing.assert_allclose(i, -f, rtol=0, atol=1e-6)
    assert not c.any() and not o.any()
    # Initial timescales 1 / (1 - sigmoid(b_f)) = 1 + u lie in [2, T_max].
    timescale = 1.0 / (1.0 - 1.0 / (1.0 + np.exp(-f)))
    assert timescale.min() >= 2.0 - 1e-3 and timescale.max() <= t_max + 1e-2


@pytest.mark.backend
def test_cell_bias_follows_the_formula():
    t_max = 60
    blocks = _bias_blocks(cells.StandardLSTMCell(512, chrono_t_max=t_max, seed=5), 1)
    f = blocks["f"]
    assert f.min() >= 0.0 and f.max() <= np.log(t_max - 1) + 1e-5
    assert stats.kstest(np.exp(f), "uniform", args=(1.0, t_max - 2.0)).pvalue > 1e-3
    assert abs(f.mean() - _expected_mean_log(t_max)) < 0.1
    np.testing.assert_allclose(blocks["i"], -f, atol=1e-6)
    # `bias_initializer` (zeros) for c and o; no unit forget bias.
    assert not blocks["c"].any() and not blocks["o"].any()


@pytest.mark.backend
@pytest.mark.parametrize(
    "name, kwargs, with_input",
    [
        ("standard", {}, True),
        ("peephole", {}, True),
        ("coupled", {}, False),
        ("coupled", {"peephole": True}, False),
        ("nig", {}, False),
        ("cifg", {}, False),
        ("fgr", {}, True),
        ("nog", {}, True),
    ],
)
def test_every_cell_with_a_forget_gate_takes_it(name, kwargs, with_input):
    cell = cells.create(name, 64, chrono_t_max=30, seed=1, bias_initializer="ones", **kwargs)
    blocks = _bias_blocks(cell)
    f = blocks["f"]
    assert f.min() >= 0.0 and f.max() <= np.log(29) + 1e-5 and f.std() > 0.1
    assert ("i" in blocks) == with_input
    if with_input:
        np.testing.assert_allclose(blocks["i"], -f, atol=1e-6)
    # Every other block keeps `bias_initializer`.
    for gate in set(blocks) - {"i", "f"}:
        np.testing.assert_allclose(blocks[gate], 1.0)


def test_t_max_two_gives_zero_forget_bias():
    blocks = _bias_blocks(cells.StandardLSTMCell(5, chrono_t_max=2))
    np.testing.assert_allclose(blocks["f"], 0.0, atol=1e-7)


@pytest.mark.backend
def test_seed_makes_the_draw_reproducible():
    a = _bias_blocks(cells.StandardLSTMCell(8, chrono_t_max=50, seed=3))["f"]
    b = _bias_blocks(cells.StandardLSTMCell(8, chrono_t_max=50, seed=3))["f"]
    c = _bias_blocks(cells.StandardLSTMCell(8, chrono_t_max=50, seed=4))["f"]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("t_max", [1, 0, -5, 1.5, True, "100", float("inf")])
def test_bad_t_max_names_the_argument(t_max):
    with pytest.raises(ValueError, match=r"`chrono_t_max`.*integer >= 2.*got"):
        cells.StandardLSTMCell(4, chrono_t_max=t_max)
    with pytest.raises(ValueError, match="`chrono_t_max`"):
        lstm_apps.LSTM(4, chrono_t_max=t_max)


def test_cells_without_a_forget_gate_or_bias_reject_it():
    with pytest.raises(ValueError, match="`chrono_t_max`.*no forget gate"):
        cells.create("nfg", 4, chrono_t_max=10)
    with pytest.raises(ValueError, match="`chrono_t_max`.*use_bias=False"):
        cells.StandardLSTMCell(4, chrono_t_max=10, use_bias=False)


def test_initializer_for_keras_lstm_and_its_errors():
    init = ChronoInitializer(40, seed=0)
    layer = keras.layers.LSTM(16, bias_initializer=init, unit_forget_bias=False)
    layer.build((None, 5, 2))
    i, f, c, o = np.split(np.asarray(layer.cell.bias), 4)
    assert f.min() >= 0 and f.max() <= np.log(39) + 1e-5
    np.testing.assert_allclose(i, -f, atol=1e-6)
    assert not c.any() and not o.any()
    again = keras.initializers.get(keras.saving.serialize_keras_object(init))
    assert isinstance(again, ChronoInitializer) and again.get_config() == init.get_config()
    with pytest.raises(ValueError, match="`t_max`"):
        ChronoInitializer(1)
    with pytest.raises(ValueError, match="`blocks`"):
        ChronoInitializer(10, blocks=("i", "c"))
    with pytest.raises(ValueError, match="equal blocks"):
        init((10,))


def test_survives_save_and_load(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6, 3)),
            lstm_apps.LSTM(
                8, variant="coupled", chrono_t_max=50, seed=2, return_sequences=True, name="rnn"
            ),
            keras.layers.RNN(cells.PeepholeLSTMCell(4, chrono_t_max=20), name="raw"),
        ]
    )
    path = tmp_path / "chrono.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("rnn").chrono_t_max == 50
    assert loaded.get_layer("raw").cell.chrono_t_max == 20
    assert loaded.get_layer("rnn").get_config()["chrono_t_max"] == 50
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)
    # A clone from the config draws again, from the same formula.
    clone = lstm_apps.LSTM.from_config(model.get_layer("rnn").get_config())
    clone.build((None, 6, 3))
    f = np.split(np.asarray(clone.cell.bias), 3)[0]
    assert f.min() >= 0 and f.max() <= np.log(49) + 1e-5


# ------------------------------------------------------------- the tuner
def _tiny_hypermodel(**space):
    """A recipe hypermodel whose config has `unit_forget_bias` and `chrono_t_max` fields."""
    import dataclasses

    from lstm_apps.tuning.hypermodels import RecipeHyperModel

    @dataclasses.dataclass(frozen=True)
    class Config:
        cell: str = "standard"
        units: int = 4
        epochs: int = 1
        unit_forget_bias: bool = True
        chrono_t_max: int | None = None

        def __post_init__(self):
            cells.check_chrono_t_max(self.chrono_t_max)

    class Tiny(RecipeHyperModel):
        recipe = "tiny"
        config_class = Config

        def _prepare(self):
            pass

        def _build_model(self, config):
            return keras.Sequential([keras.Input((5, 2)), lstm_apps.LSTM(
                config.units, variant=config.cell, chrono_t_max=config.chrono_t_max,
                unit_forget_bias=config.unit_forget_bias, name="rnn")])

    return Tiny(Config(), **space)


def test_chrono_t_max_is_in_the_search_space_next_to_unit_forget_bias():
    import keras_tuner

    from lstm_apps.tuning import _space

    names = list(_space.PARAMS)
    assert names.index("chrono_t_max") == names.index("unit_forget_bias") + 1
    hm = _tiny_hypermodel(cells=("standard", "nfg", "gru"))
    assert hm.search_space()["chrono_t_max"] == "Choice(0, 100, 1000)"
    hp = keras_tuner.HyperParameters()
    config = hm.config(hp)  # the defaults: the standard cell, chrono off
    assert hp.values["chrono_t_max"] == 0 and config.chrono_t_max is None
    (registered,) = [p for p in hp.space if p.name == "chrono_t_max"]
    assert list(registered.values) == [0, 100, 1000] and registered.default == 0
    # Drawn only for the cells with a forget gate: not for NFG nor GRU.
    assert registered.conditions[0].values == ["standard"]
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("chrono_t_max", 100)
    config = hm.config(fixed)
    assert config.chrono_t_max == 100
    bias = np.split(np.asarray(hm.build(fixed).get_layer("rnn").cell.bias), 4)[1]
    assert bias.min() >= 0 and bias.max() <= np.log(99) + 1e-5 and bias.std() > 0
    gru = keras_tuner.HyperParameters()
    gru.Fixed("cell", "gru")
    assert hm.config(gru).chrono_t_max is None and not gru.is_active("chrono_t_max")


def test_chrono_t_max_search_ranges_are_checked():
    assert _tiny_hypermodel(chrono_t_max=200).search_space()["chrono_t_max"] == "Fixed(200)"
    assert "chrono_t_max" not in _tiny_hypermodel(chrono_t_max=None).search_space()
    with pytest.raises(ValueError, match=r"`chrono_t_max`, expected 0 \(off\), an integer >= 2 "
                                         r"or a non-empty sequence of them, got \(0, 1\)"):
        _tiny_hypermodel(chrono_t_max=(0, 1))
