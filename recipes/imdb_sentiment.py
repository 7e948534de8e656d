"""
Title: IMDB sentiment from raw text with an lstm_apps LSTM
Author: lstm_apps
Description: A bidirectional LSTM beside an n-gram bag, reading raw movie reviews end to end.
Accelerator: None (CPU; about 10-30 minutes on 2 cores for the full data, more when busy)
"""

"""
## Introduction

This example trains a sentiment classifier on the Large Movie Review Dataset
(IMDB, Maas et al. 2011): 25,000 labelled reviews for training and 25,000 for
testing. The model takes **raw strings** along two branches whose logits are
summed before a sigmoid:

- the LSTM branch: a `TextVectorization` layer adapted on the training
  reviews only (HTML line breaks, punctuation and case removed by
  `lstm_apps.data.imdb.standardize_review`), the last 400 tokens of each
  review, a word embedding learned from scratch, a bidirectional LSTM of any
  lstm_apps cell, max pooling over time and a linear unit;
- the n-gram branch: every distinct word and word pair of the review, each
  weighted by its naive Bayes log-count ratio and a learned weight (NB
  logistic regression, as in NBSVM).

`SentimentConfig(branches="lstm")` or `"ngram"` keeps one branch alone.

Everything below is one call to `lstm_apps.recipes.sentiment.run`, which the
command line (`lstm-apps sentiment`) and the notebook
`notebooks/02_imdb_sentiment.ipynb` use too.

Set `LSTM_APPS_QUICK=1` for a run of a minute or so on a few hundred reviews;
`LSTM_APPS_IMDB` to another data source (default: `../shared/data/imdb` when
it exists, else `keras.datasets.imdb`, which downloads); `LSTM_APPS_OUTPUT`
for the run folder.
"""

"""
## Setup
"""

import os  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from lstm_apps.data.imdb import load_imdb  # noqa: E402
from lstm_apps.recipes.sentiment import (  # noqa: E402
    SentimentConfig,
    load_model,
    predict_sentiment,
    run,
)

"""
## Settings
"""

QUICK = os.environ.get("LSTM_APPS_QUICK", "0") == "1"  # tiny run for tests and demos
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "imdb"
DATA = os.environ.get("LSTM_APPS_IMDB") or (str(SHARED) if SHARED.is_dir() else "keras")
OUTPUT_DIR = os.environ.get("LSTM_APPS_OUTPUT", "runs/imdb_sentiment")
CELL = os.environ.get("LSTM_APPS_CELL", "standard")  # any lstm_apps cell, keras_lstm, gru

if QUICK:  # a few hundred reviews, a small model, one epoch
    SIZE = dict(
        max_train_samples=600,
        max_test_samples=300,
        epochs=1,
        units=16,
        embedding_dim=32,
        vocab_size=3000,
        max_len=150,
    )
else:  # the benchmarked defaults of SentimentConfig
    SIZE = {}

"""
## Load the data

`run` loads the data itself; here we only look at it. The validation split
(10% of the training reviews, stratified and seeded) picks the best epoch; the
test split is used once, at the end.
"""

splits = load_imdb(
    DATA,
    max_train_samples=SIZE.get("max_train_samples"),
    max_test_samples=SIZE.get("max_test_samples"),
)
print(splits)
print("A positive review:", splits.train_texts[splits.train_labels == 1][0][:300], "...")

"""
## Train and evaluate
"""

config = SentimentConfig(
    data=DATA, cell=CELL, output_dir=OUTPUT_DIR, verbose=0 if QUICK else 1, **SIZE
)
result = run(config)
print(result.history.round(4).to_string(index=False))
print({k: result.metrics[k] for k in ("test_accuracy", "test_auc", "test_loss", "best_epoch")})

"""
## Use the model on new text

The model takes strings as they come, `<br />` tags and all.
"""

reviews = [
    "A wonderful film, moving and beautifully acted.<br /><br />I loved every minute.",
    "Two hours I will never get back. The plot makes no sense and the acting is wooden.",
]
for text, probability in zip(reviews, predict_sentiment(result.model, reviews)):
    print(f"{probability:.3f}  {text[:70]}")

"""
## Reload the saved model

`model.keras` holds the vectoriser and its vocabulary too; `load_model` loads
it in any process.
"""

reloaded = load_model(result.paths["model"])
np.testing.assert_allclose(
    predict_sentiment(reloaded, reviews), predict_sentiment(result.model, reviews), atol=1e-6
)
print("Run folder:", result.paths["run_dir"])
