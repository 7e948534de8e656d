"""IMDB sentiment from raw review text: `run(SentimentConfig(...)) -> SentimentResult`.

The model reads raw strings along two branches whose logits are combined
before the sigmoid output:

- the LSTM branch: a `TextVectorization` layer of words (adapted on the
  training split only), `TruncateTokens` (the last `max_len` tokens by
  default), an embedding, one or more recurrent layers of any lstm_apps cell
  (or `keras.layers.LSTM` / `keras.layers.GRU` as baselines), masked pooling
  over time and a linear unit;
- the n-gram branch: the distinct words and word pairs of the whole review
  (an n-gram `TextVectorization`), each weighted by its fixed naive Bayes
  log-count ratio and a trainable weight (`NGramBag`): NB logistic
  regression, as in NBSVM (Wang & Manning, 2012).

By default (`fusion="residual"`) the n-gram branch is trained alone first,
then frozen, and the LSTM branch is trained on top of it: the model's logit
is the sum of both (the `"blend"` layer, weights 1), so the LSTM learns what
the n-grams get wrong. On the full data this gave 0.918 test accuracy, the
n-gram branch alone 0.918 (the LSTM adds 0.000-0.002), where each branch
trained alone and blended by a logistic regression fitted on validation
(`fusion="ensemble"`) gave 0.916 and both trained together
(`fusion="joint"`, `BranchSum`) 0.905; each run reports the n-gram branch
alone beside the model, so the LSTM's contribution is measured in every
run. `branches="lstm"` or `"ngram"` keeps one branch
(the ablations of `benchmarks/bench_imdb.py`). The model is saved as one
piece, so `load_model("model.keras")` gives back a model that takes text,
in any process.

Training batches reviews of similar length together (bucketing): every batch
is only as long as its longest review, which makes an epoch about twice as
fast as padding everything to `max_len`; masking makes the result the same.

Example:

```python
from lstm_apps.recipes.sentiment import SentimentConfig, predict_sentiment, run

result = run(SentimentConfig(data="../shared/data/imdb", output_dir="runs/imdb"))
print(result.metrics["test_accuracy"])
predict_sentiment(result.model, ["A wonderful film.", "Two hours I will never get back."])
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstm_apps._validation import check_bool, check_choice, check_int, check_real, check_text
from lstm_apps.recipes._common import check_cell

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = [
    "BRANCHES",
    "FUSIONS",
    "POOLINGS",
    "SentimentConfig",
    "SentimentResult",
    "build_model",
    "compile_model",
    "load_model",
    "make_vectorizers",
    "predict_sentiment",
    "run",
]

logger = logging.getLogger(__name__)

#: Ways to turn the recurrent outputs into one vector per review.
POOLINGS = ("max", "mean", "max_mean", "last")

#: Which parts the model has: both (the default), or one alone (the ablations).
BRANCHES = ("lstm+ngram", "lstm", "ngram")

#: How a two-branch model is trained: the LSTM on top of the trained n-gram
#: branch, the branches apart then blended, or both together.
FUSIONS = ("residual", "ensemble", "joint")

# Reviews are grouped into pools of this many batches, sorted by length
# within a pool and cut into batches; the batch order is then shuffled.
_POOL_BATCHES = 20


def _help(text: str, **kwargs: Any) -> Any:
    return dataclasses.field(metadata={"help": text}, **kwargs)


@dataclasses.dataclass(frozen=True)
class SentimentConfig:
    """Settings of one sentiment run; checked when created.

    The defaults are the benchmarked configuration (`benchmarks/bench_imdb.py`):
    a bidirectional standard LSTM with 64 units per direction over the last 400
    tokens, max pooling, 10,000 words, beside a bag of the 100,000 most
    frequent words and word pairs with naive Bayes weights; Adam with weight
    averaging (EMA), 6 epochs at most, the epoch of best validation accuracy.

    Args:
        data: `"keras"` (`keras.datasets.imdb`, downloads), an `aclImdb`
            folder, a folder with `train` and `test` tables
            (`train.csv.gz`/`test.csv.gz`, `.csv`, `.parquet`), one table
            file, or a pandas DataFrame.
        test_data: Test table (path or DataFrame) when `data` is one table.
            Default: hold out `test_split` of `data`.
        text_column, label_column: Column names of table sources.
        output_dir: The run folder: created, or an empty one; a folder that
            holds a run is refused unless `lstm_apps._runs.policy` says
            "overwrite" or "resume" (`lstm-apps sentiment` makes a fresh
            folder under its `--output-dir` for each run).
        branches: `"lstm+ngram"` (both branches, their logits combined),
            `"lstm"` or `"ngram"` (one alone: the ablations).
        fusion: How `"lstm+ngram"` trains its branches. `"residual"`: the
            n-gram branch trained alone first, then the LSTM branch trained
            on top of it, the n-gram branch frozen: the model is the sum of
            the two logits, and the LSTM learns what the n-grams get wrong
            (stage-wise boosting). `"ensemble"`: each branch trained alone
            (n-gram first, then the LSTM, each with its own early stopping),
            then their logits weighted and summed with weights fitted on the
            validation reviews (a logistic regression on the two logits,
            non-negative weights). `"joint"`: one model trained end to end,
            logits summed, with `branch_dropout`. Each is one saved model.
        cell: An lstm_apps cell or variant (`lstm_apps.cells.names()`), or
            `"keras_lstm"` / `"gru"` for Keras's own layers.
        units: Units per recurrent layer (per direction).
        layers: Number of stacked recurrent layers.
        bidirectional: Wrap each recurrent layer in `Bidirectional`.
        embedding_dim: Size of the word vectors.
        vocab_size: Vocabulary size (padding and out-of-vocabulary included).
        max_len: Tokens kept per review.
        truncating: `"pre"` keeps the end of long reviews, `"post"` the start.
        pooling: `"max"`, `"mean"`, `"max_mean"` (both, concatenated) over the
            masked time steps, or `"last"` (the final state).
        ngrams: Longest n-gram of the n-gram branch (2: words and word pairs).
        ngram_vocab_size: N-grams kept (the most frequent in the training
            reviews; padding and OOV included).
        ngram_l2: L2 penalty of the n-gram weights (per review; 2e-4 is
            scikit-learn's `C=0.1` for 22,500 reviews).
        branch_dropout: With `fusion="joint"`, the share of the training
            reviews that see one branch only, drawn at random (`BranchSum`);
            0 trains the sum alone.
        dropout: Dropout rate on the inputs of each recurrent layer (one mask
            per sequence, so whole embedding channels drop) and before the
            output layer.
        recurrent_dropout: Dropout rate on the recurrent state.
        batch_size: Reviews per training batch.
        epochs: Most epochs to train.
        learning_rate: Adam's learning rate.
        clipnorm: Gradient clipping by norm (None: no clipping).
        ema_momentum: Keep an exponential moving average of the weights and
            use it at the end of each epoch (None: off). Lowered for epochs of
            few steps, so that the average forgets the previous epoch (at most
            a 0.2 share of it remains).
        patience: Stop after this many epochs without a better validation
            accuracy (None: train all epochs). The weights of the best epoch
            are restored in either case.
        validation_split: Share of the training data held out, stratified,
            for validation.
        test_split: Share of a single-table `data` held out for testing.
        max_train_samples: Use at most this many training reviews (quick runs).
        max_test_samples: Evaluate on at most this many test reviews.
        seed: Seed of the splits, the weights, dropout and shuffling.
        gate_monitor: Log the gates to TensorBoard (`lstm_apps.GateMonitor`)
            and plot the forget gate over the words of one review (default:
            off, as in every recipe and command: it costs training time).
        verbose: 0 (silent), 1 (progress bar) or 2 (one line per epoch).

    Example:

    >>> from lstm_apps.recipes.sentiment import SentimentConfig
    >>> SentimentConfig(cell="peephole", max_len=200).cell
    'peephole'
    >>> SentimentConfig(max_len=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Received an invalid value for argument `max_len`, expected a positive ...
    """

    data: Any = _help(
        "'keras', an aclImdb folder, a folder with train/test CSV or Parquet files, "
        "one such file, or a DataFrame",
        default="keras",
    )
    test_data: Any = _help("test table when `data` is one table", default=None)
    text_column: str = _help("text column of table sources", default="text")
    label_column: str = _help("label column of table sources", default="label")
    output_dir: str | os.PathLike = _help("the run folder", default="runs/sentiment")
    branches: str = _help(
        "model parts: 'lstm+ngram' (both, logits combined), 'lstm' or 'ngram' alone",
        default="lstm+ngram",
    )
    fusion: str = _help(
        "how lstm+ngram trains: 'residual' (the n-gram branch, then the LSTM on top of "
        "it), 'ensemble' (each branch alone, logits weighted on validation) or 'joint' "
        "(one model, logits summed)",
        default="residual",
    )
    cell: str = _help("cell name, or 'keras_lstm' / 'gru'", default="standard")
    units: int = _help("units per recurrent layer and direction", default=64)
    layers: int = _help("stacked recurrent layers", default=1)
    bidirectional: bool = _help("bidirectional recurrent layers", default=True)
    embedding_dim: int = _help("size of the word vectors", default=128)
    vocab_size: int = _help("vocabulary size", default=10000)
    max_len: int = _help("tokens kept per review", default=400)
    truncating: str = _help("'pre' keeps the end of long reviews, 'post' the start", default="pre")
    pooling: str = _help("pooling over time: max, mean, max_mean or last", default="max")
    ngrams: int = _help("longest n-gram of the n-gram branch (1: words only)", default=2)
    ngram_vocab_size: int = _help("n-grams kept by the n-gram branch", default=100000)
    ngram_l2: float = _help("L2 penalty of the n-gram branch's weights", default=2e-4)
    branch_dropout: float = _help(
        "share of training reviews that see one branch only (fusion joint)", default=0.3
    )
    dropout: float = _help("dropout on recurrent inputs and before the output", default=0.3)
    recurrent_dropout: float = _help("dropout on the recurrent state", default=0.0)
    batch_size: int = _help("reviews per batch", default=128)
    epochs: int = _help("most epochs", default=6)
    learning_rate: float = _help("Adam learning rate", default=2e-3)
    clipnorm: float | None = _help("gradient clipping by norm (none: off)", default=1.0)
    ema_momentum: float | None = _help("weight averaging momentum (none: off)", default=0.99)
    patience: int | None = _help("early-stopping patience in epochs (none: off)", default=2)
    validation_split: float = _help("share of training data for validation", default=0.1)
    test_split: float = _help("share of a single table held out for testing", default=0.2)
    max_train_samples: int | None = _help("use at most this many training reviews", default=None)
    max_test_samples: int | None = _help("test on at most this many reviews", default=None)
    seed: int = _help("random seed", default=1337)
    gate_monitor: bool = _help(
        "gate monitoring in TensorBoard and the forget-gate plot", default=False
    )
    verbose: int = _help("0 silent, 1 progress bar, 2 one line per epoch", default=1)

    def __post_init__(self) -> None:
        from lstm_apps.data import imdb as _imdb
        from lstm_apps.layers.text import check_max_len

        if self.data is None:
            raise TypeError(
                "Received an invalid value for argument `data`, expected 'keras', a path "
                "or a pandas DataFrame, got None."
            )
        _imdb.check_source(self.data, "data")
        _imdb.check_source(self.test_data, "test_data")
        for name in ("text_column", "label_column"):
            check_text(name, getattr(self, name))
        if not isinstance(self.output_dir, (str, os.PathLike)):
            raise TypeError(
                "Received an invalid value for argument `output_dir`, expected a folder "
                f"path, got {type(self.output_dir).__name__}."
            )
        object.__setattr__(self, "output_dir", Path(self.output_dir))
        object.__setattr__(self, "cell", check_cell(self.cell))
        for name in ("units", "layers", "embedding_dim", "batch_size", "epochs"):
            check_int(name, getattr(self, name), 1, expected="a positive integer")
        check_max_len(self.max_len)
        check_int("vocab_size", self.vocab_size, 3)
        check_choice("truncating", self.truncating, ("pre", "post"))
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice("branches", self.branches, BRANCHES)
        check_choice("fusion", self.fusion, FUSIONS)
        check_int("ngrams", self.ngrams, 1, expected="a positive integer")
        check_int("ngram_vocab_size", self.ngram_vocab_size, 3)
        check_real("ngram_l2", self.ngram_l2, 0.0, math.inf, expected="a number >= 0")
        check_real(
            "branch_dropout", self.branch_dropout, 0.0, 1.0, high_open=True,
            expected="a float in [0, 1)",
        )
        for name in ("dropout", "recurrent_dropout"):
            value = getattr(self, name)
            check_real(name, value, 0.0, 1.0, high_open=True, expected="a float in [0, 1)")
        for name in ("validation_split", "test_split"):
            value = getattr(self, name)
            check_real(
                name, value, 0.0, 1.0, low_open=True, high_open=True, expected="a float in (0, 1)"
            )
        for name in ("learning_rate", "clipnorm"):
            check_real(
                name,
                getattr(self, name),
                0.0,
                math.inf,
                low_open=True,
                optional=name == "clipnorm",
                expected="a positive number",
            )
        check_real(
            "ema_momentum",
            self.ema_momentum,
            0.0,
            1.0,
            low_open=True,
            high_open=True,
            optional=True,
            expected="a float in (0, 1)",
        )
        if self.patience is not None:
            check_int("patience", self.patience, 1, expected="a positive integer")
        for name in ("max_train_samples", "max_test_samples"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 4)
        check_int("seed", self.seed)
        check_bool("bidirectional", self.bidirectional)
        check_bool("gate_monitor", self.gate_monitor)
        check_choice("verbose", self.verbose, (0, 1, 2))

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (paths and DataFrames as strings)."""
        from lstm_apps.data import imdb as _imdb

        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in ("data", "test_data") and value is not None:
                value = _imdb.describe_source(value)
            elif isinstance(value, Path):
                value = str(value)
            out[field.name] = value
        return out


@dataclasses.dataclass
class SentimentResult:
    """What `run` gives back.

    Attributes:
        model: The trained end-to-end model (raw strings in, probability of a
            positive review out).
        history: One row per epoch: `epoch`, `loss`, `accuracy`, `auc`,
            `val_loss`, `val_accuracy`, `val_auc`, `seconds`.
        metrics: `test_accuracy`, `test_auc`, `test_loss`, `val_accuracy`
            (best epoch), `best_epoch`, `epochs_run`, `train_seconds` (of
            `fit`), `prepare_seconds` (vocabularies, n-gram counts, model),
            the split sizes, `vocabulary_size`, `ngram_vocabulary_size` (0
            without the n-gram branch), `parameters`, `cell` and `branches`.
        paths: What the run wrote: `run_dir`, `model`, `metrics`, `history`,
            `config`, `tensorboard`, `learning_curves`, and `forget_gate`
            when the gate plot was drawn.
        config: The `SentimentConfig` of the run.
    """

    model: keras.Model
    history: Any
    metrics: dict[str, Any]
    paths: dict[str, Path]
    config: SentimentConfig

    def __repr__(self) -> str:
        shown = {k: self.metrics[k] for k in ("test_accuracy", "test_auc") if k in self.metrics}
        run_dir = self.paths.get("run_dir")
        return f"SentimentResult(cell={self.config.cell!r}, {shown}, run_dir={run_dir})"


# ---------------------------------------------------------------------- model
def build_model(
    config: SentimentConfig,
    vectorizer: keras.layers.TextVectorization,
    ngram_vectorizer: keras.layers.TextVectorization | None = None,
    ngram_ratios: np.ndarray | None = None,
) -> keras.Model:
    """The end-to-end model of `config`: raw strings in, probability out.

    Two branches read the same raw strings, and their logits are combined
    before the sigmoid (`config.branches` keeps one alone, for ablations):

    - the LSTM branch: word ids (`vectorizer`), `TruncateTokens`, an
      embedding, the recurrent layers, pooling over time, dropout and a
      linear unit;
    - the n-gram branch: the distinct 1- to `config.ngrams`-grams of the whole
      review (`ngram_vectorizer`), weighted by their naive Bayes log-count
      ratios (`ngram_ratios`, fixed) and by a trainable, L2-penalised weight
      each (`NGramBag`): NB logistic regression (Wang & Manning, 2012).

    With `config.fusion="residual"` (the default) or `"ensemble"` each branch
    is a sub-model of its own, `"lstm_branch"` and `"ngram_branch"` (text
    in, logit out), which `run` trains one after the other, and a fixed,
    non-trainable `Dense` layer `"blend"` weighs and sums their logits
    (weights 1, bias 0: the residual model's sum; an ensemble's are fitted
    on validation by `run`). With `"joint"`, one flat model whose logits
    `BranchSum` adds, showing a `config.branch_dropout` share of the
    training reviews one branch only, so that the LSTM also learns to
    classify alone.

    Args:
        config: A `SentimentConfig` (architecture fields only are used).
        vectorizer: An adapted `TextVectorization` of words (see
            `lstm_apps.layers.vectorizers.make_vectorizer`).
        ngram_vectorizer: The n-gram `TextVectorization` (see
            `lstm_apps.layers.vectorizers.make_ngram_vectorizer`). Without it, the
            n-gram branch is a bag of the words of `vectorizer` (unweighted).
        ngram_ratios: Fixed weight per id of `ngram_vectorizer` (the NB
            ratios of `make_ngram_vectorizer`). Default: all ones.

    Returns:
        An uncompiled `keras.Model` taking a batch of strings, shape
        `(batch,)`, and returning probabilities, shape `(batch, 1)`. Give
        `model.predict` an object array (`np.array(texts, dtype=object)`) or
        a string tensor, or use `predict_sentiment`, which also batches by
        length.

    Example:

    >>> import numpy as np
    >>> from lstm_apps.layers.vectorizers import make_ngram_vectorizer, make_vectorizer
    >>> from lstm_apps.recipes.sentiment import SentimentConfig, build_model
    >>> texts, labels = ["a good film", "a bad film"], [1, 0]
    >>> vectorizer = make_vectorizer(texts, vocab_size=10)
    >>> ngrams, ratios = make_ngram_vectorizer(texts, labels, vocab_size=20)
    >>> model = build_model(SentimentConfig(units=4, embedding_dim=8), vectorizer, ngrams, ratios)
    >>> model.predict(np.array(["a good film"], dtype=object), verbose=0).shape
    (1, 1)
    >>> [layer.name for layer in model.layers[1:]]
    ['lstm_branch', 'ngram_branch', 'logits', 'blend', 'probability']
    """
    import keras

    from lstm_apps.layers.text import BranchSum

    if not isinstance(config, SentimentConfig):
        raise TypeError(
            "Received an invalid value for argument `config`, expected a "
            f"SentimentConfig, got {type(config).__name__}."
        )
    for name, value in (("vectorizer", vectorizer), ("ngram_vectorizer", ngram_vectorizer)):
        if not isinstance(value, keras.layers.TextVectorization) and (
            name == "vectorizer" or value is not None
        ):
            raise TypeError(
                f"Received an invalid value for argument `{name}`, expected an adapted "
                f"keras.layers.TextVectorization, got {type(value).__name__}."
            )
    if ngram_ratios is not None and ngram_vectorizer is None:
        raise ValueError(
            "Received argument `ngram_ratios` without `ngram_vectorizer`; the ratios "
            "weigh the ids of `ngram_vectorizer`."
        )
    branches = {
        "lstm": lambda x: _lstm_logit(config, vectorizer, x),
        "ngram": lambda x: _ngram_logit(config, vectorizer, ngram_vectorizer, ngram_ratios, x),
    }
    if config.branches != "lstm+ngram":
        branches = {config.branches: branches[config.branches]}
    text = keras.Input(shape=(), dtype="string", name="text")
    if len(branches) == 1:
        (logit,) = [branch(text) for branch in branches.values()]
    elif config.fusion == "joint":
        logits = [branch(text) for branch in branches.values()]
        logit = BranchSum(config.branch_dropout, seed=config.seed, name="branch_sum")(logits)
    else:
        logits = []
        for key, branch in branches.items():
            branch_text = keras.Input(shape=(), dtype="string", name=f"{key}_text")
            sub = keras.Model(branch_text, branch(branch_text), name=f"{key}_branch")
            logits.append(sub(text))
        both = keras.layers.Concatenate(name="logits")(logits)
        logit = keras.layers.Dense(
            1, kernel_initializer="ones", bias_initializer="zeros", trainable=False, name="blend"
        )(both)
    probability = keras.layers.Activation("sigmoid", name="probability")(logit)
    name = {"lstm+ngram": f"sentiment_{config.cell}_ngram", "lstm": f"sentiment_{config.cell}"}
    return keras.Model(text, probability, name=name.get(config.branches, "sentiment_ngram"))


def _lstm_logit(config: SentimentConfig, vectorizer: Any, text: Any) -> Any:
    """The LSTM branch on the string tensor `text`: its logit `(batch, 1)`."""
    import keras

    from lstm_apps.layers.text import SequencePooling, TruncateTokens
    from lstm_apps.recipes._common import recurrent_stack

    ids = vectorizer(text)
    ids = TruncateTokens(config.max_len, config.truncating, name="truncate")(ids)
    x = keras.layers.Embedding(
        vectorizer.vocabulary_size(), config.embedding_dim, mask_zero=True, name="embedding"
    )(ids)
    for layer in recurrent_stack(
        config.cell,
        config.units,
        layers=config.layers,
        bidirectional=config.bidirectional,
        return_sequences=config.pooling != "last",
        dropout=config.dropout,
        recurrent_dropout=config.recurrent_dropout,
        seed=config.seed,
    ):
        x = layer(x)
    if config.pooling != "last":
        x = SequencePooling(config.pooling, name="pooling")(x)
    x = keras.layers.Dropout(config.dropout, seed=config.seed, name="dropout")(x)
    return keras.layers.Dense(1, name="lstm_logit")(x)


def _ngram_logit(
    config: SentimentConfig, vectorizer: Any, ngram_vectorizer: Any, ngram_ratios: Any, text: Any
) -> Any:
    """The n-gram branch on the string tensor `text`: its logit `(batch, 1)`."""
    import keras

    from lstm_apps.layers.text import NGramBag

    if ngram_vectorizer is None:
        logger.info("No n-gram vectorizer given: the n-gram branch is a bag of words")
    bag_vectorizer = vectorizer if ngram_vectorizer is None else ngram_vectorizer
    bag = NGramBag(
        bag_vectorizer.vocabulary_size(),
        kernel_regularizer=keras.regularizers.L2(config.ngram_l2) if config.ngram_l2 else None,
        name="ngram_bag",
    )
    logit = bag(bag_vectorizer(text))
    if ngram_ratios is not None:
        bag.set_scale(ngram_ratios)
    return logit


def load_model(path: str | os.PathLike) -> keras.Model:
    """Loads a saved sentiment model (`model.keras`) in any process.

    Imports the modules that register the model's custom pieces (cells,
    `LSTM`, `TruncateTokens`, `SequencePooling`, `standardize_review`) first.

    Args:
        path: Path of the `.keras` file.

    Returns:
        The `keras.Model`, taking raw strings.

    Example:

    ```python
    model = load_model("runs/sentiment/model.keras")
    predict_sentiment(model, ["What a waste of time."])
    ```
    """
    import keras

    import lstm_apps.layers  # noqa: F401  (registers the cells, LSTM and the text layers)

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Received argument `path`={str(path)!r}, which is not a file.")
    return keras.saving.load_model(path)


def _check_texts_argument(texts: Any) -> np.ndarray:
    if isinstance(texts, str):
        raise TypeError(
            "Received an invalid value for argument `texts`, expected a list of strings, "
            f"got a single string {texts[:40]!r}; wrap it in a list."
        )
    try:
        array = np.asarray(list(texts), dtype=object)
    except TypeError:
        raise TypeError(
            "Received an invalid value for argument `texts`, expected a list of strings, "
            f"got {type(texts).__name__}."
        ) from None
    bad = [i for i, t in enumerate(array) if not isinstance(t, str)]
    if bad:
        raise TypeError(
            "Received an invalid value for argument `texts`, expected a list of strings, "
            f"but the items at {bad[:5]} are {[type(array[i]).__name__ for i in bad[:5]]}."
        )
    return array


def predict_sentiment(
    model: keras.Model,
    texts: Sequence[str],
    batch_size: int = 256,
    verbose: int = 0,
) -> np.ndarray:
    """Probability that each review is positive.

    Reviews are batched by length (and put back in order), so a long list
    predicts fast.

    Args:
        model: A model from `run` or `load_model` (takes raw strings).
        texts: Review texts (a list, tuple or array of strings).
        batch_size: Reviews per batch.
        verbose: Keras progress bar (0 or 1).

    Returns:
        A float array of shape `(len(texts),)` with values in [0, 1].

    Example:

    >>> from lstm_apps.layers.vectorizers import make_vectorizer
    >>> from lstm_apps.recipes.sentiment import SentimentConfig, build_model
    >>> model = build_model(SentimentConfig(units=4, embedding_dim=8),
    ...                     make_vectorizer(["a good film", "a bad film"], vocab_size=10))
    >>> predict_sentiment(model, ["a wonderful film", "bad"]).shape
    (2,)
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            "Received an invalid value for argument `model`, expected a keras.Model, "
            f"got {type(model).__name__}."
        )
    check_int("batch_size", batch_size, 1, expected="a positive integer")
    array = _check_texts_argument(texts)
    if len(array) == 0:
        return np.zeros((0,), dtype="float32")
    return _predict(model, array, batch_size, verbose).reshape(-1)


def _predict(model: keras.Model, texts: np.ndarray, batch_size: int, verbose: int) -> np.ndarray:
    """`model`'s outputs `(len(texts), k)` on an object array of strings, batched by length."""
    import keras

    order = np.argsort([len(t) for t in texts], kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    out = None
    progress = keras.utils.Progbar(len(batches)) if verbose else None
    for index, batch in enumerate(batches):
        values = np.asarray(model.predict_on_batch(texts[batch].astype(str)))
        values = values.reshape(len(batch), -1)
        if out is None:
            out = np.empty((len(texts), values.shape[1]), dtype="float32")
        out[batch] = values
        if progress is not None:
            progress.update(index + 1)
    return out


# ------------------------------------------------------------------- batching
def _token_counts(texts: np.ndarray, max_len: int) -> np.ndarray:
    """Tokens the LSTM branch sees per text (the model's own count, OOV included)."""
    from lstm_apps.layers.text import standardize_text

    counts = [len(standardize_text(str(text)).split()) for text in texts]
    return np.minimum(np.asarray(counts, dtype="int32"), max_len)


def _length_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator | None
) -> list[np.ndarray]:
    """Index batches of reviews of similar length (shuffled when `rng` is given)."""
    if rng is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    order = rng.permutation(len(lengths))
    pool = batch_size * _POOL_BATCHES
    batches = []
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _text_dataset(
    texts: np.ndarray,
    labels: np.ndarray,
    lengths: np.ndarray,
    batch_size: int,
    seed: int | None,
) -> Any:
    """A `tf.data.Dataset` of (strings, labels) batches bucketed by length.

    With a seed, every epoch draws a new, seeded order (epoch k uses
    `[seed, k]`); without, batches go from the shortest to the longest.
    """
    import tensorflow as tf

    texts = np.asarray(texts, dtype=object).astype(str)
    labels = np.asarray(labels, dtype="float32")
    n_batches = math.ceil(len(texts) / batch_size)
    epochs = itertools.count()

    def batches():
        rng = None if seed is None else np.random.default_rng([seed, next(epochs)])
        for index in _length_batches(lengths, batch_size, rng):
            yield texts[index], labels[index]

    dataset = tf.data.Dataset.from_generator(
        batches,
        output_signature=(
            tf.TensorSpec((None,), tf.string),
            tf.TensorSpec((None,), tf.float32),
        ),
    )
    return dataset.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)


# -------------------------------------------------------------------- metrics
def _roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half)."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        logger.warning(
            "ROC AUC is undefined: the %d test reviews are all of one class (%d positive, "
            "%d negative); test_auc is NaN (null in metrics.json)",
            n_pos + n_neg, n_pos, n_neg,
        )
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype="float64")
    sorted_scores = np.asarray(scores)[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _binary_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    p = np.clip(probabilities.astype("float64"), 1e-7, 1 - 1e-7)
    y = labels.astype("float64")
    return {
        "accuracy": float(((p > 0.5) == (y > 0.5)).mean()),
        "auc": _roc_auc(labels, p),
        "loss": float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()),
    }


# -------------------------------------------------------------------- the run
def make_vectorizers(config: SentimentConfig, texts: Any, labels: Any) -> tuple[Any, Any, Any]:
    """The text layers of `build_model`, adapted on the training reviews.

    Args:
        config: The settings (`vocab_size`; with an n-gram branch also
            `ngram_vocab_size` and `ngrams`).
        texts, labels: The training reviews and their labels (the labels
            give the n-grams' naive Bayes ratios).

    Returns:
        `(vectorizer, ngram_vectorizer, ngram_ratios)`, the last two None when
        `config.branches == "lstm"`: the arguments of `build_model` after the
        config.

    Example:

    >>> from lstm_apps.recipes.sentiment import SentimentConfig, build_model, make_vectorizers
    >>> config = SentimentConfig(units=4, embedding_dim=8, vocab_size=10, ngram_vocab_size=20)
    >>> layers = make_vectorizers(config, ["a good film", "a bad film"], [1, 0])
    >>> build_model(config, *layers).count_params() > 0
    True
    """
    from lstm_apps.layers import vectorizers

    vectorizer = vectorizers.make_vectorizer(texts, config.vocab_size)
    if config.branches == "lstm":
        return vectorizer, None, None
    ngrams, ratios = vectorizers.make_ngram_vectorizer(texts, labels, config.ngram_vocab_size,
                                                 config.ngrams)
    return vectorizer, ngrams, ratios


def compile_model(model: keras.Model, config: SentimentConfig,
                  train_samples: int) -> keras.Model:
    """Compiles a model of `build_model` for training, as `run` does.

    Adam at `config.learning_rate` with `config.clipnorm`, and with
    `config.ema_momentum` an exponential moving average of the weights that
    replaces them at the end of every epoch (its momentum lowered where an
    epoch has few steps); binary cross-entropy; accuracy and ROC AUC.

    Args:
        model: The model.
        config: The settings.
        train_samples: Training reviews: with `config.batch_size`, the
            batches per epoch (the EMA's overwrite period).

    Returns:
        `model`, compiled.
    """
    import keras

    steps = math.ceil(train_samples / config.batch_size)
    ema = {}
    if config.ema_momentum is not None:
        momentum = _epoch_momentum(config.ema_momentum, steps)
        ema = dict(use_ema=True, ema_momentum=momentum, ema_overwrite_frequency=steps)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm, **ema),
        loss="binary_crossentropy",
        metrics=["accuracy", keras.metrics.AUC(name="auc")],
    )
    return model


def _epoch_momentum(momentum: float, steps: int, stale: float = 0.2) -> float:
    """`momentum`, lowered if needed so that weights older than the epoch keep at most
    a `stale` share of the end-of-epoch average (`momentum ** steps <= stale`).

    The average replaces the weights at the end of every epoch; with few steps
    per epoch (quick runs) a high momentum would pull them back to the start
    of the epoch. Full IMDB runs (176 steps of 128) keep 0.99 as given.
    """
    effective = min(momentum, stale ** (1.0 / steps))
    if effective < momentum:
        logger.info(
            "ema_momentum %.4f lowered to %.4f for %d steps per epoch", momentum, effective, steps
        )
    return float(effective)


def _epoch_timer() -> Any:
    """A callback that records the wall-clock seconds of each epoch in `.seconds`."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def _probe(splits: Any, lengths: np.ndarray, size: int = 8) -> np.ndarray:
    """A few short validation reviews of both labels, for the gate monitor."""
    short = np.flatnonzero((lengths >= 5) & (lengths <= 80))
    pool = short if len(short) >= size else np.argsort(lengths)[: max(size, 1)]
    picked = []
    for label in (1, 0):
        picked += [i for i in pool if splits.val_labels[i] == label][: size // 2]
    return (
        splits.val_texts[np.sort(np.array(picked, dtype=int))]
        if picked
        else splits.val_texts[:size]
    )


def _tokens(vectorizer: Any, texts: np.ndarray, config: SentimentConfig) -> list[list[str]]:
    """The tokens the model sees (after truncation), one list per text."""
    from lstm_apps.layers import vectorizers

    ids, lengths = vectorizers.vectorize(texts, vectorizer, config.max_len, config.truncating)
    vocabulary = vectorizer.get_vocabulary()
    steps = max(int(lengths.max()), 1)
    return [[str(vocabulary[k]) if k else "" for k in row[:steps]] for row in ids]


def _forget_gate_figure(model: keras.Model, text: str, tokens: list[str]) -> Any:
    """Forget gate over the words of one review (lstm_apps.gates + plots)."""
    from lstm_apps.gates import trace_gates
    from lstm_apps.plots import plot_gate_heatmap

    trace = trace_gates(model, np.array([text], dtype=object), tokens=[tokens])
    first = trace.layers[0]
    figure = plot_gate_heatmap(
        trace, layer=first.layer, gate="f", sample=0, direction=first.direction, tokens=tokens
    )
    figure.suptitle(
        f"forget gate, {first.key}: {text[:70]}{'...' if len(text) > 70 else ''}", fontsize=9
    )
    return figure


def _gate_monitor(log_dir: Path, probe: np.ndarray, vectorizer: Any,
                  config: SentimentConfig) -> Any:
    """The `GateMonitor` of the LSTM's training (None, with a warning, if unavailable)."""
    try:
        from lstm_apps.callbacks import GateMonitor
    except ImportError as error:
        logger.warning(
            "gate_monitor=True, but GateMonitor is unavailable (%s); "
            "training without gate monitoring",
            error,
        )
        return None
    return GateMonitor(
        log_dir, probe=probe, tokens=_tokens(vectorizer, probe, config), image_samples=1
    )


def _stages(
    model: keras.Model, config: SentimentConfig
) -> list[tuple[str | None, Any, tuple[Any, ...]]]:
    """What `run` trains, in order: `(tag, uncompiled model, layers frozen meanwhile)`.

    One stage (tag None) for a single branch or `fusion="joint"`: the model
    itself. Otherwise the n-gram branch alone, then the LSTM branch: alone
    for `fusion="ensemble"`, added to the n-gram branch's logit, which stays
    frozen while it trains, for `"residual"`. Each stage ends in a sigmoid
    of its own; the layers are the model's, so training them trains the
    model's branches.
    """
    import keras

    if config.branches != "lstm+ngram" or config.fusion == "joint":
        return [(None, model, ())]
    stages = []
    for tag in ("ngram", "lstm"):
        branch = model.get_layer(f"{tag}_branch")
        text = keras.Input(shape=(), dtype="string", name="text")
        logit, frozen = branch(text), ()
        if tag == "lstm" and config.fusion == "residual":
            frozen = (model.get_layer("ngram_branch"),)
            logit = keras.layers.Add(name="residual_sum")([frozen[0](text), logit])
        probability = keras.layers.Activation("sigmoid", name="probability")(logit)
        stage = keras.Model(text, probability, name=f"{tag}_branch_training")
        stages.append((tag, stage, frozen))
    return stages


@contextlib.contextmanager
def _frozen(*layers: Any) -> Iterator[None]:
    """`trainable = False` for `layers` within the block (compile inside it), then as before."""
    trainable = [layer.trainable for layer in layers]
    for layer in layers:
        layer.trainable = False
    try:
        yield
    finally:
        for layer, value in zip(layers, trainable):
            layer.trainable = value


def _fit_stage(
    model: keras.Model, tag: str | None, config: SentimentConfig, run_dir: Path,
    data: tuple[Any, Any, Any, Any], monitor: Any,
) -> tuple[Any, float]:
    """Trains one stage of `run`: `(history with `epoch` and `seconds`, seconds of fit)`.

    `data` is `(training texts, labels, lengths)` and the validation dataset.
    The early stopping keeps the epoch of best validation accuracy. A tagged
    stage that finished before a resumption is loaded, not trained again.
    """
    import keras
    import pandas as pd

    from lstm_apps import _io, _runs

    if tag is not None and (record := _runs.finished(run_dir, tag)) is not None:
        model.load_weights(_runs.finished_path(run_dir, f"{tag}.weights.h5"))
        logger.info("The %s branch finished before the resumption: its weights are loaded", tag)
        return pd.DataFrame(record["history"]), float(record["seconds"])
    texts, labels, lengths, val_data = data
    compile_model(model, config, len(texts))
    timer = _epoch_timer()
    stopper = keras.callbacks.EarlyStopping(
        monitor="val_accuracy",
        mode="max",
        patience=config.patience if config.patience is not None else config.epochs + 1,
        restore_best_weights=True,
    )
    # The last stage (the LSTM, or the only one) logs to tb/ itself, the n-gram stage below it.
    log_dir = run_dir / "tb" / ("ngram" if tag == "ngram" else "")
    callbacks = [
        timer,
        stopper,
        *_runs.training_callbacks(run_dir, tag),  # resumable after kill -9 / Ctrl-C
        keras.callbacks.TensorBoard(str(log_dir)),
        *([monitor] if monitor is not None else []),
    ]
    logger.info("Training %s on %d reviews", model.name, len(texts))
    start = time.perf_counter()
    fitted = model.fit(
        _text_dataset(texts, labels, lengths, config.batch_size, config.seed),
        validation_data=val_data,
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,  # the dataset draws its own seeded, length-bucketed order
        verbose=config.verbose,
    )
    seconds = time.perf_counter() - start
    history = _runs.history(run_dir, fitted.history, tag)  # with the epochs before a resumption
    # Epochs before a resumption were timed by the interrupted process: NaN.
    earlier = max(0, len(history) - len(timer.seconds))
    history["seconds"] = [math.nan] * earlier + timer.seconds[: len(history) - earlier]
    if tag is not None:
        _io.save_weights(_runs.finished_path(run_dir, f"{tag}.weights.h5"), model)
        _runs.mark_finished(run_dir, tag, {
            "seconds": seconds, "history": history.to_dict(orient="list"),
        })
    return history, seconds


def _joined_histories(histories: list[Any], tags: list[str | None]) -> Any:
    """One history: the stages' rows in order, with a `branch` column for several."""
    import pandas as pd

    if len(histories) == 1:
        return histories[0]
    frames = [h.assign(branch=tag) for h, tag in zip(histories, tags)]
    joined = pd.concat(frames, ignore_index=True)
    return joined[["branch", *[c for c in joined.columns if c != "branch"]]]


def _best_epoch(history: Any) -> int:
    """Row of `history` with the best validation accuracy of the last (LSTM) stage."""
    rows = history
    if "branch" in history:
        rows = history[history["branch"] == history["branch"].iloc[-1]]
    return int(rows["val_accuracy"].idxmax())


def _branch_logits(model: keras.Model, texts: np.ndarray, verbose: int = 0) -> np.ndarray:
    """The logits of a two-stage model's branches, `(len(texts), 2)`: LSTM, then n-gram."""
    import keras

    logits = keras.Model(model.inputs, model.get_layer("logits").output)
    return _predict(logits, np.asarray(texts, dtype=object), 256, verbose).astype("float64")


def _logistic_fit(features: np.ndarray, labels: np.ndarray, l2: float = 1e-4,
                  steps: int = 50) -> np.ndarray:
    """Weights then bias of an L2-penalised logistic regression (Newton's method)."""
    x = np.c_[features, np.ones(len(features))]
    penalty = l2 * np.diag(np.r_[np.ones(features.shape[1]), 0.0])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = _sigmoid(np.clip(x @ w, -50, 50))
        gradient = x.T @ (p - labels) / len(labels) + penalty @ w
        hessian = (x * (p * (1 - p))[:, None]).T @ x / len(labels) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(w)), gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def _blend(model: keras.Model, texts: np.ndarray, labels: np.ndarray,
           fit: bool) -> dict[str, Any]:
    """The `"blend"` layer of a two-stage model with the branch logits on validation.

    With `fit` (an ensemble) the blend is fitted on the validation reviews
    and set: a logistic regression on the two branch logits; a branch whose
    weight comes out negative is left out (weight 0) and the other one
    refitted, so the blend never turns a branch's evidence around. Without
    it (the residual model) the layer's own weights, 1 and 1, bias 0.
    """
    logits = _branch_logits(model, texts)
    y = np.asarray(labels, dtype="float64")
    if not fit:
        kernel, bias = model.get_layer("blend").get_weights()
        return {"weights": kernel.reshape(2).astype("float64"), "bias": float(bias[0]),
                "val_logits": logits, "val_labels": y}
    kept = [0, 1]
    w = _logistic_fit(logits, y)
    while len(kept) > 1 and (w[:-1] < 0).any():
        kept = [k for k, v in zip(kept, w[:-1]) if v >= 0] or [kept[int(np.argmax(w[:-1]))]]
        w = _logistic_fit(logits[:, kept], y)
    weights = np.zeros(2)
    weights[kept] = w[:-1]
    bias = float(w[-1])
    model.get_layer("blend").set_weights(
        [weights.reshape(2, 1).astype("float32"), np.array([bias], dtype="float32")]
    )
    return {"weights": weights, "bias": bias, "val_logits": logits, "val_labels": y}


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """Probabilities of `logits` (NumPy)."""
    return 1.0 / (1.0 + np.exp(-logits))


def _two_stage_metrics(blend: dict[str, Any], test_logits: np.ndarray,
                       test_labels: np.ndarray, history: Any, fusion: str) -> dict[str, Any]:
    """The model's validation numbers and its branches alone on both splits.

    The n-gram branch alone is the model without its LSTM part in either
    fusion; the LSTM branch alone is a classifier of its own in an ensemble
    only (a residual model's LSTM logit is a correction), which also has
    `blend_weights`.
    """
    val_logits, val_labels = blend["val_logits"], blend["val_labels"]
    val = _binary_metrics(
        val_labels, _sigmoid(val_logits @ blend["weights"] + blend["bias"])
    )
    out: dict[str, Any] = {"val_accuracy": val["accuracy"], "val_loss": val["loss"]}
    alone = ("ngram",)
    if fusion == "ensemble":
        out["blend_weights"] = {"lstm": float(blend["weights"][0]),
                                "ngram": float(blend["weights"][1]), "bias": blend["bias"]}
        alone = ("lstm", "ngram")
    for name in alone:
        column = ("lstm", "ngram").index(name)
        branch_val = _binary_metrics(val_labels, _sigmoid(val_logits[:, column]))
        branch = _binary_metrics(test_labels, _sigmoid(test_logits[:, column]))
        out[f"{name}_test_accuracy"] = branch["accuracy"]
        out[f"{name}_test_auc"] = branch["auc"]
        out[f"{name}_val_accuracy"] = branch_val["accuracy"]
    ngram = history[history["branch"] == "ngram"]
    out["ngram_best_epoch"] = int(ngram["epoch"][ngram["val_accuracy"].idxmax()])
    out["ngram_epochs_run"] = len(ngram)
    return out


def run(config: SentimentConfig) -> SentimentResult:
    """Trains and evaluates a sentiment model on raw review text.

    Steps: seed everything, load and check the data (every error is raised
    here, before any training), adapt the vectoriser on the training split,
    build and train the end-to-end model with early stopping on validation
    accuracy, evaluate once on the test split, and write the run folder:
    `model.keras`, `metrics.json`, `history.csv`, `config.json`, `tb/`
    (TensorBoard, with `GateMonitor` gates when `gate_monitor`) and `plots/`
    (`learning_curves.png`, `forget_gate.png`).

    With both branches and `fusion="residual"` (the default) or
    `"ensemble"`, training has two stages: the n-gram branch alone, then the
    LSTM branch (each with its early stopping; TensorBoard logs under
    `tb/ngram/` and `tb/`): on top of the frozen n-gram branch for
    `"residual"`, alone for `"ensemble"`, whose blend weights are then
    fitted on the validation reviews. The history has both stages' epochs
    with a `branch` column; `best_epoch` and `epochs_run` are the LSTM
    stage's, `val_accuracy` and `val_loss` the whole model's; the metrics
    also give the n-gram branch alone (`ngram_test_accuracy`,
    `ngram_test_auc`, `ngram_val_accuracy`: the model without its LSTM
    part, same run, same reviews) and, for an ensemble, the LSTM branch
    alone (`lstm_test_accuracy`, ...) and `blend_weights`. A run resumed
    after an interruption keeps a branch that had finished.

    Reproducibility: `keras.utils.set_random_seed(config.seed)` fixes the
    splits, the initial weights, dropout and the batch order, so two runs of
    the same config on the same machine give the same numbers (tested).
    Not promised: bit-exact results across machines or thread counts
    (TensorFlow's CPU kernels), and equality between `gate_monitor=True` and
    `False`: Keras's RNN layer draws its dropout masks on every call, inference
    included, so the monitor's extra forward passes shift the dropout stream
    of later epochs (the metrics differ in the third decimal).

    Args:
        config: A `SentimentConfig`.

    Returns:
        A `SentimentResult`.

    Example:

    ```python
    from lstm_apps.recipes.sentiment import SentimentConfig, run
    result = run(SentimentConfig(data="../shared/data/imdb", max_train_samples=2000,
                                 max_test_samples=2000, epochs=2, output_dir="runs/quick"))
    result.metrics["test_accuracy"], result.history
    ```
    """
    import keras

    from lstm_apps import _io, _runs
    from lstm_apps.data import imdb as _imdb

    if not isinstance(config, SentimentConfig):
        raise TypeError(
            "Received an invalid value for argument `config`, expected a "
            f"SentimentConfig, got {type(config).__name__}."
        )
    # A run folder that is refused or cannot be written fails here, before any work;
    # it is created once the data passed its checks.
    _runs.check(config.output_dir, config.to_dict())
    keras.utils.set_random_seed(config.seed)
    splits = _imdb.load_imdb(
        config.data,
        config.test_data,
        text_column=config.text_column,
        label_column=config.label_column,
        validation_split=config.validation_split,
        test_split=config.test_split,
        max_train_samples=config.max_train_samples,
        max_test_samples=config.max_test_samples,
        seed=config.seed,
    )
    run_dir = _runs.start(config.output_dir, config.to_dict())
    paths = {"run_dir": run_dir}
    prepare_start = time.perf_counter()
    vectorizers = make_vectorizers(config, splits.train_texts, splits.train_labels)
    train_lengths = _token_counts(splits.train_texts, config.max_len)
    val_lengths = _token_counts(splits.val_texts, config.max_len)
    val_data = _text_dataset(
        splits.val_texts, splits.val_labels, val_lengths, max(config.batch_size, 256), None
    )

    vectorizer, ngram_vectorizer, _ = vectorizers
    model = build_model(config, *vectorizers)
    stages = _stages(model, config)
    prepare_seconds = time.perf_counter() - prepare_start
    if config.verbose:
        model.summary(print_fn=logger.info)

    paths["tensorboard"] = run_dir / "tb"
    probe = _probe(splits, val_lengths)
    gate_monitor = config.gate_monitor and config.branches != "ngram"
    if config.gate_monitor and not gate_monitor:
        logger.info("branches='ngram' has no LSTM: no gate monitoring, no forget-gate plot")
    monitor = None
    if gate_monitor:
        monitor = _gate_monitor(paths["tensorboard"], probe, vectorizer, config)

    histories, train_seconds = [], 0.0
    for tag, stage, frozen in stages:
        with_monitor = monitor is not None and tag != "ngram"
        with _frozen(*frozen):
            history, seconds = _fit_stage(
                stage, tag, config, run_dir,
                (splits.train_texts, splits.train_labels, train_lengths, val_data),
                monitor if with_monitor else None,
            )
        histories.append(history)
        train_seconds += seconds
    history = _joined_histories(histories, [tag for tag, _, _ in stages])
    best = _best_epoch(history)

    start = time.perf_counter()
    verbose = int(config.verbose == 1)
    if len(stages) > 1:
        blend = _blend(model, splits.val_texts, splits.val_labels,
                       fit=config.fusion == "ensemble")
        branch_logits = _branch_logits(model, splits.test_texts, verbose)
        blend_logit = branch_logits @ blend["weights"] + blend["bias"]
        probabilities = _sigmoid(blend_logit)
    else:
        blend, branch_logits = None, None
        probabilities = predict_sentiment(model, splits.test_texts, verbose=verbose)
    test = _binary_metrics(splits.test_labels, probabilities)
    metrics = {
        "test_accuracy": test["accuracy"],
        "test_auc": test["auc"],
        "test_loss": test["loss"],
        "val_accuracy": float(history["val_accuracy"][best]),
        "val_loss": float(history["val_loss"][best]),
        "best_epoch": int(history["epoch"][best]),
        "epochs_run": int((history["branch"] == history["branch"].iloc[-1]).sum())
        if "branch" in history else len(history),
        "train_seconds": round(train_seconds, 2),
        "prepare_seconds": round(prepare_seconds, 2),
        "test_seconds": round(time.perf_counter() - start, 2),
        "train_samples": len(splits.train_texts),
        "val_samples": len(splits.val_texts),
        "test_samples": len(splits.test_texts),
        "vocabulary_size": int(vectorizer.vocabulary_size()),
        "ngram_vocabulary_size": (
            int(ngram_vectorizer.vocabulary_size()) if ngram_vectorizer is not None else 0
        ),
        "parameters": int(model.count_params()),
        "cell": config.cell,
        "branches": config.branches,
    }
    if blend is not None:
        metrics.update(_two_stage_metrics(
            blend, branch_logits, splits.test_labels, history, config.fusion
        ))
    logger.info(
        "Test accuracy %.4f, AUC %.4f, loss %.4f", test["accuracy"], test["auc"], test["loss"]
    )

    paths["model"] = _io.save_model(run_dir / "model.keras", model)
    paths["history"] = _io.write_csv(run_dir / "history.csv", history)
    paths["config"] = _io.write_json(run_dir / "config.json", config.to_dict())
    from lstm_apps.plots.sentiment import plot_sentiment_learning_curves

    paths["learning_curves"] = _io.save_figure(
        run_dir / "plots" / "learning_curves.png", plot_sentiment_learning_curves(history)
    )
    if gate_monitor:
        try:
            figure = _forget_gate_figure(
                model, str(probe[0]), _tokens(vectorizer, probe[:1], config)[0]
            )
        except ImportError as error:
            logger.warning("Skipping the forget-gate plot: %s", error)
        else:
            paths["forget_gate"] = _io.save_figure(run_dir / "plots" / "forget_gate.png", figure)
    _runs.clear_backup(run_dir)
    # The completion marker, written last: a run cut short never looks complete.
    paths["metrics"] = _io.write_json(run_dir / _runs.MARKER, metrics)
    return SentimentResult(
        model=model, history=history, metrics=metrics, paths=paths, config=config
    )
