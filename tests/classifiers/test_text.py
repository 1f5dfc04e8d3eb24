"""Raw text as X: any imbnet network on strings, preprocessing learnt inside fit,
the built-in CostSensitiveTextClassifier, and bad text input."""

import keras
import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

import imbnet
from imbnet import CostSensitiveMLPClassifier, CostSensitiveTextClassifier, ResampledKerasClassifier


def corpus(n, seed, noise=0.0, minority=0.1):
    """Documents of common words; the minority class also says one of a few signal
    words (and, with ``noise``, some majority documents do too)."""
    rng = np.random.default_rng(seed)
    common = [f"w{i}" for i in range(60)]
    signal = ["refund", "fraud", "chargeback", "stolen"]
    y = (rng.random(n) < minority).astype(int)
    docs = []
    for label in y:
        words = list(rng.choice(common, rng.integers(4, 15)))
        if label or rng.random() < noise:
            words.extend(rng.choice(signal, 2))
        rng.shuffle(words)
        docs.append(" ".join(words))
    return docs, y


TEXTS, Y = corpus(300, 0)
NOISY_TEXTS, NOISY_Y = corpus(900, 1, noise=0.04, minority=0.05)


def build(meta):
    """A string-input network whose TextVectorization the fit adapts."""
    return keras.Sequential(
        [
            keras.Input((1,), dtype="string"),
            keras.layers.TextVectorization(
                max_tokens=500, output_mode="multi_hot", pad_to_max_tokens=True
            ),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def keras_text_clf(**params):
    params = {"epochs": 8, "optimizer__learning_rate": 0.05, **params}
    return ResampledKerasClassifier(build, random_state=0, **params)


@pytest.mark.parametrize(
    "as_input",
    [list, np.array, pd.Series, lambda t: pd.DataFrame({"message": t})],
    ids=["list", "array", "series", "dataframe"],
)
def test_any_keras_text_model_cross_validates_on_raw_strings(as_input):
    scores = cross_val_score(
        keras_text_clf(class_weight="balanced"), as_input(TEXTS), Y, cv=3, scoring="roc_auc"
    )
    assert scores.min() > 0.9, scores


@pytest.mark.parametrize(
    "params",
    [
        {"sampler": RandomUnderSampler()},
        {"sampler": RandomOverSampler()},
        {"batch_ratio": 1.0},
        {"early_stopping": True, "epochs": 12},
    ],
    ids=["undersample", "oversample", "balanced-batches", "early-stopping"],
)
def test_row_samplers_and_balanced_batches_work_on_text(params):
    clf = keras_text_clf(**params).fit(TEXTS[:200], Y[:200])
    proba = clf.predict_proba(TEXTS[200:])[:, 1]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(Y[200:], proba) > 0.9


def test_a_sampler_that_makes_rows_from_features_says_what_to_use_on_text():
    with pytest.raises(ValueError, match="SMOTE makes new rows.*RandomOverSampler"):
        keras_text_clf(sampler=SMOTE()).fit(TEXTS, Y)
    with pytest.raises(ValueError, match="RandomOverSampler"):
        CostSensitiveTextClassifier(sampler=SMOTE(), epochs=1).fit(TEXTS, Y)


def test_the_vocabulary_is_learnt_from_the_training_rows_only():
    texts = list(TEXTS)
    texts[-1] = texts[-1] + " onlyinthetestrow"
    clf = keras_text_clf(epochs=1).fit(texts[:-1], Y[:-1])
    vocabulary = clf.model_.layers[0].get_vocabulary()
    assert "refund" in vocabulary and "onlyinthetestrow" not in vocabulary
    builtin = CostSensitiveTextClassifier(epochs=1, ngrams=1).fit(texts[:-1], Y[:-1])
    assert "onlyinthetestrow" not in builtin.vectorizer_.layers[0].get_vocabulary()
    # a model instance is cloned: the caller's own layer is left un-adapted
    instance = build({})
    pristine = instance.layers[0].vocabulary_size()
    fitted = ResampledKerasClassifier(instance, epochs=1, random_state=0).fit(texts[:-1], Y[:-1])
    assert "refund" in fitted.model_.layers[0].get_vocabulary()
    assert instance.layers[0].vocabulary_size() == pristine


def test_a_preprocessing_layer_the_builder_adapted_is_left_alone():
    fixed = keras.layers.TextVectorization(vocabulary=["refund", "fraud"])

    def build_fixed(meta):
        return keras.Sequential(
            [
                keras.Input((1,), dtype="string"),
                fixed,
                keras.layers.Embedding(5, 4),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )

    clf = ResampledKerasClassifier(build_fixed, epochs=1, random_state=0).fit(TEXTS, Y)
    assert clf.model_.layers[0].get_vocabulary() == ["", "[UNK]", "refund", "fraud"]


def test_normalization_in_a_numeric_builder_is_adapted_on_the_training_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(50.0, 10.0, size=(200, 3)).astype(np.float32)
    y = (X[:, 0] > 55).astype(int)

    def build_normalized(meta):
        return keras.Sequential(
            [
                keras.Input((3,)),
                keras.layers.Normalization(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )

    clf = ResampledKerasClassifier(build_normalized, epochs=2, random_state=0).fit(X, y)
    mean = keras.ops.convert_to_numpy(clf.model_.layers[0].mean).ravel()
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-4)


def test_text_classifier_is_close_to_tfidf_logistic_regression_on_noisy_imbalanced_text():
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = cross_val_score(
        CostSensitiveTextClassifier(class_weight="balanced", random_state=0),
        NOISY_TEXTS,
        NOISY_Y,
        cv=cv,
        scoring="average_precision",
    )
    baseline = cross_val_score(
        make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2)),
            LogisticRegression(class_weight="balanced", max_iter=1000),
        ),
        NOISY_TEXTS,
        NOISY_Y,
        cv=cv,
        scoring="average_precision",
    )
    assert ours.mean() >= baseline.mean() - 0.05, (ours.mean(), baseline.mean())


@pytest.mark.parametrize(
    "params",
    [
        {"class_weight": "balanced"},
        {"loss": "focal"},
        {"loss": "logit_adjusted", "prior_correction": True},
        {"sampler": RandomUnderSampler()},
        {"batch_ratio": 2.0},
        {"hidden_layer_sizes": (8,), "dropout": 0.1},
    ],
    ids=["balanced", "focal", "logit-adjusted", "undersample", "batches", "hidden"],
)
def test_text_classifier_takes_every_imbalance_option(params):
    clf = CostSensitiveTextClassifier(epochs=15, random_state=0, **params)
    clf.fit(TEXTS[:220], Y[:220])
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(Y[220:], clf.predict_proba(TEXTS[220:])[:, 1]) > 0.9
    assert set(clf.predict(TEXTS[220:])) <= {0, 1}


def test_text_classifier_multiclass_and_grid_search():
    rng = np.random.default_rng(3)
    y = rng.choice(3, 240, p=[0.7, 0.2, 0.1])
    texts = [
        f"{['alpha', 'beta', 'gamma'][k]} " + " ".join(rng.choice(["a", "b", "c"], 5)) for k in y
    ]
    search = GridSearchCV(
        CostSensitiveTextClassifier(epochs=10, random_state=0),
        {"class_weight": [None, "balanced"]},
        cv=3,
        scoring="balanced_accuracy",
    ).fit(texts, y)
    assert search.best_score_ > 0.9
    assert search.predict_proba(texts[:4]).shape == (4, 3)


def test_same_seed_same_predictions_and_save_load_keeps_the_vocabulary(tmp_path):
    first = CostSensitiveTextClassifier(epochs=3, random_state=7).fit(TEXTS, Y)
    second = CostSensitiveTextClassifier(epochs=3, random_state=7).fit(TEXTS, Y)
    np.testing.assert_array_equal(first.predict_proba(TEXTS), second.predict_proba(TEXTS))
    imbnet.save(first, tmp_path / "text.imbnet")
    loaded = imbnet.load(tmp_path / "text.imbnet")
    np.testing.assert_allclose(loaded.predict_proba(TEXTS), first.predict_proba(TEXTS), atol=1e-6)

    keras_model = keras_text_clf(epochs=2).fit(TEXTS, Y)
    imbnet.save(keras_model, tmp_path / "keras_text.imbnet")
    reloaded = imbnet.load(tmp_path / "keras_text.imbnet", trusted=[f"{__name__}.build"])
    np.testing.assert_allclose(
        reloaded.predict_proba(TEXTS), keras_model.predict_proba(TEXTS), atol=1e-6
    )


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "texts, error, message",
    [
        (["a refund", 3.5, "w1 w2"] * 10, TypeError, "mixes text with other types: row 1 is float"),
        (["a refund", None, "w1"] * 10, ValueError, "missing documents .None or NaN."),
        (pd.Series(["a refund", np.nan, "w1"] * 10), ValueError, "missing documents"),
        (["", "  ", ""] * 10, ValueError, "every document in X is empty"),
    ],
    ids=["mixed", "none", "nan", "empty"],
)
def test_bad_text_gets_one_clear_error_and_the_fitted_model_stays(texts, error, message):
    clf = CostSensitiveTextClassifier(epochs=2, random_state=0).fit(TEXTS, Y)
    before = clf.predict_proba(TEXTS[:5])
    with pytest.raises(error, match=message):
        clf.fit(texts, [0, 1, 0] * 10)
    np.testing.assert_array_equal(clf.predict_proba(TEXTS[:5]), before)
    with pytest.raises(error, match=message):
        keras_text_clf(epochs=1).fit(texts, [0, 1, 0] * 10)


def test_a_row_the_network_has_no_output_for_is_refused_not_labelled():
    """A masked average of word embeddings is NaN for a document with no words; its
    probabilities were NaN and predict gave it the first class without a word."""

    def build_average(meta):
        return keras.Sequential(
            [
                keras.Input((1,), dtype="string"),
                keras.layers.TextVectorization(max_tokens=500),
                keras.layers.Embedding(500, 4, mask_zero=True),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )

    clf = ResampledKerasClassifier(build_average, epochs=2, random_state=0).fit(TEXTS, Y)
    before = clf.predict_proba(TEXTS[:3])
    for method in (clf.predict_proba, clf.predict):
        with pytest.raises(ValueError, match=r"NaN or infinite for 1 of 3 rows \(e.g. row 1\)"):
            method([TEXTS[0], "!!", TEXTS[2]])
    np.testing.assert_array_equal(clf.predict_proba(TEXTS[:3]), before)


def test_numeric_input_to_a_text_model_and_text_to_a_numeric_one():
    clf = CostSensitiveTextClassifier(epochs=1, random_state=0).fit(TEXTS, Y)
    with pytest.raises(TypeError, match="must be text.*dtype float64"):
        clf.predict(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="takes raw text.*CostSensitiveMLPClassifier"):
        CostSensitiveTextClassifier().fit(np.zeros((30, 4)), [0, 1] * 15)
    with pytest.raises(ValueError, match="X must be numeric"):
        CostSensitiveMLPClassifier(max_iter=1).fit(np.array(TEXTS).reshape(-1, 1), Y)


def test_a_text_column_missing_at_predict_is_named():
    frame = pd.DataFrame({"message": TEXTS})
    clf = CostSensitiveTextClassifier(epochs=1, random_state=0).fit(frame, Y)
    assert list(clf.feature_names_in_) == ["message"]
    with pytest.raises(ValueError, match="no column 'message'"):
        clf.predict(pd.DataFrame({"body": TEXTS}))
    # other columns beside it are fine: the model reads its own
    both = pd.DataFrame({"id": range(len(TEXTS)), "message": TEXTS})
    np.testing.assert_array_equal(clf.predict_proba(both), clf.predict_proba(frame))


# ----------------------------------------------------------- text + numeric
def build_two_inputs(meta):
    text = keras.Input((1,), dtype="string", name="text")
    numeric = keras.Input((2,), name="numeric")
    words = keras.layers.TextVectorization(
        max_tokens=300, output_mode="multi_hot", pad_to_max_tokens=True
    )(text)
    scaled = keras.layers.Normalization()(numeric)
    hidden = keras.layers.concatenate([keras.layers.Flatten()(words), scaled])
    output = keras.layers.Dense(1, activation="sigmoid")(hidden)
    return keras.Model({"text": text, "numeric": numeric}, output)


def claims(n, seed):
    """Fraud is said in the text half the time, and shows in the amount otherwise."""
    rng = np.random.default_rng(seed)
    texts, y = corpus(n, seed)
    said = rng.random(n) < 0.5
    texts = [
        t if not (label and not s) else " ".join(rng.choice(["w1", "w2"], 5))
        for t, label, s in zip(texts, y, said)
    ]
    amount = rng.normal(100, 20, n) + 80 * y
    return pd.DataFrame({"title": texts, "amount": amount, "age": rng.normal(40, 10, n)}), y


CLAIMS, CLAIMS_Y = claims(400, 5)
INPUTS = {"text": ["title"], "numeric": ["amount", "age"]}


def two_input_clf(**params):
    params = {"epochs": 10, "optimizer__learning_rate": 0.05, **params}
    return ResampledKerasClassifier(build_two_inputs, inputs=INPUTS, random_state=0, **params)


def test_text_and_numeric_columns_feed_a_two_input_model(tmp_path):
    scores = cross_val_score(
        two_input_clf(class_weight="balanced"), CLAIMS, CLAIMS_Y, cv=3, scoring="roc_auc"
    )
    text_only = cross_val_score(
        keras_text_clf(class_weight="balanced"),
        CLAIMS[["title"]],
        CLAIMS_Y,
        cv=3,
        scoring="roc_auc",
    )
    assert scores.mean() > 0.9 and scores.mean() > text_only.mean() + 0.03, (scores, text_only)
    search = GridSearchCV(
        two_input_clf(), {"sampler": [None, RandomUnderSampler()], "batch_ratio": [None]}, cv=3
    ).fit(CLAIMS, CLAIMS_Y)
    fitted = search.best_estimator_
    imbnet.save(fitted, tmp_path / "two.imbnet")
    loaded = imbnet.load(tmp_path / "two.imbnet", trusted=[f"{__name__}.build_two_inputs"])
    np.testing.assert_allclose(
        loaded.predict_proba(CLAIMS), fitted.predict_proba(CLAIMS), atol=1e-6
    )
    balanced = two_input_clf(batch_ratio=1.0).fit(CLAIMS, CLAIMS_Y)
    assert balanced.predict_proba(CLAIMS[:3]).shape == (3, 2)


def test_named_inputs_bad_input_is_named():
    with pytest.raises(ValueError, match="no column 'amount'"):
        two_input_clf(epochs=1).fit(CLAIMS.drop(columns="amount"), CLAIMS_Y)
    with pytest.raises(TypeError, match="must be a pandas DataFrame"):
        two_input_clf(epochs=1).fit(CLAIMS.to_numpy(), CLAIMS_Y)
    with pytest.raises(ValueError, match="the model's inputs are named"):
        ResampledKerasClassifier(
            build_two_inputs, inputs={"words": ["title"], "numeric": ["amount", "age"]}, epochs=1
        ).fit(CLAIMS, CLAIMS_Y)
    with pytest.raises(ValueError, match="SMOTE makes new rows"):
        two_input_clf(sampler=SMOTE()).fit(CLAIMS, CLAIMS_Y)
    fitted = two_input_clf(epochs=1).fit(CLAIMS, CLAIMS_Y)
    with pytest.raises(ValueError, match="no column 'title'"):
        fitted.predict(CLAIMS.drop(columns="title"))


# ---------------------------------------------------------------- partial_fit
def test_partial_fit_keeps_the_first_vocabulary_and_training_goes_on():
    clf = CostSensitiveTextClassifier(class_weight={0: 1, 1: 5}, random_state=0)
    first, rest = slice(0, 150), slice(150, None)
    clf.partial_fit(TEXTS[first], Y[first], classes=[0, 1])
    vocabulary = clf.vectorizer_.layers[-1].get_vocabulary()
    idf, size = clf.idf_.copy(), clf.vocabulary_size_
    before = clf.predict_proba(TEXTS[rest])[:, 1]
    new_words = [f"{text} brandnew unseenword" for text in TEXTS[rest]]
    for _ in range(6):
        clf.partial_fit(new_words, Y[rest])
    # The vocabulary and the idf are those of the first call ...
    assert clf.vectorizer_.layers[-1].get_vocabulary() == vocabulary
    assert "brandnew" not in vocabulary and clf.vocabulary_size_ == size
    np.testing.assert_array_equal(clf.idf_, idf)
    # ... and each call trains one more epoch: the loss goes down, predictions move.
    losses = clf.history_["loss"]
    assert len(losses) == 7 and clf.n_iter_ == 1
    assert losses[-1] < losses[1] < losses[0], losses
    after = clf.predict_proba(TEXTS[rest])[:, 1]
    assert np.abs(after - before).max() > 0.01
    minority = Y[rest] == 1

    def gap(proba):  # how far apart the classes' probabilities are
        return proba[minority].mean() - proba[~minority].mean()

    assert gap(after) > gap(before) + 0.01, (gap(before), gap(after))


def test_partial_fit_needs_classes_first_and_a_bad_call_leaves_the_model_as_it_was():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        CostSensitiveTextClassifier().partial_fit(TEXTS, Y)
    with pytest.raises(ValueError, match="class_weight='balanced' is computed from"):
        CostSensitiveTextClassifier(class_weight="balanced").partial_fit(TEXTS, Y, classes=[0, 1])
    with pytest.raises(ValueError, match="SMOTE makes new rows"):
        CostSensitiveTextClassifier(sampler=SMOTE()).partial_fit(TEXTS, Y, classes=[0, 1])
    frame = pd.DataFrame({"message": TEXTS})
    clf = CostSensitiveTextClassifier(random_state=0).partial_fit(frame, Y, classes=[0, 1])
    proba = clf.predict_proba(frame)
    with pytest.raises(ValueError, match="no column 'message'"):
        clf.partial_fit(pd.DataFrame({"body": TEXTS}), Y)
    with pytest.raises(ValueError, match="missing documents"):
        clf.partial_fit([None] + TEXTS[1:], Y)
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(TEXTS, Y + 5)
    assert len(clf.history_["loss"]) == 1
    np.testing.assert_array_equal(clf.predict_proba(frame), proba)
    # row-selecting samplers work call by call
    under = CostSensitiveTextClassifier(sampler=RandomUnderSampler(random_state=0), random_state=0)
    under.partial_fit(TEXTS, Y, classes=[0, 1]).partial_fit(TEXTS, Y)
    assert len(under.history_["loss"]) == 2


# ------------------------------------------------------------ model selection
def test_text_networks_in_imbnet_model_selection_match_scikit_learn():
    """They train one fit at a time there (the side-by-side path is for
    CostSensitiveMLPClassifier), with scikit-learn's results."""
    from sklearn.model_selection import GridSearchCV as SkGridSearchCV
    from sklearn.model_selection import cross_validate as sk_cross_validate

    from imbnet.model_selection import GridSearchCV as ImbGridSearchCV
    from imbnet.model_selection import cross_validate as imb_cross_validate

    clf = CostSensitiveTextClassifier(epochs=5, random_state=0)
    grid = {"class_weight": [None, "balanced"], "ngrams": [1, 2]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    ours = ImbGridSearchCV(clf, grid, cv=cv, scoring="average_precision").fit(TEXTS, Y)
    theirs = SkGridSearchCV(clf, grid, cv=cv, scoring="average_precision").fit(TEXTS, Y)
    timing = {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time"}
    assert set(ours.cv_results_) == set(theirs.cv_results_)
    for key in set(theirs.cv_results_) - timing:
        mine, sk = ours.cv_results_[key], theirs.cv_results_[key]
        if key.endswith("score") or key.startswith("split"):
            np.testing.assert_allclose(mine, sk, atol=1e-6, err_msg=key)
        else:
            assert list(mine) == list(sk), key
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.predict_proba(TEXTS), theirs.predict_proba(TEXTS), atol=1e-6)
    scores = imb_cross_validate(clf, TEXTS, Y, cv=cv, scoring="roc_auc")["test_score"]
    expected = sk_cross_validate(clf, TEXTS, Y, cv=cv, scoring="roc_auc")["test_score"]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert scores.mean() > 0.7  # five epochs: it learns
