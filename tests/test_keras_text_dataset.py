"""Texts filed one folder per class: ``rnnkit.data.text_folders`` indexes them in Keras's order (checked against
Keras 3.15's own ``dataset_utils.index_directory``, which needs no TensorFlow), ``keras.utils.
text_dataset_from_directory`` gives Keras's training/validation files and label modes as a dataset ``fit`` takes, and
``rnnkit train classify --data FOLDER`` trains on the same layout (IMDB's aclImdb/train/{neg,pos})."""

from __future__ import annotations

import csv
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras.src.utils import dataset_utils  # noqa: E402

import rnnkit.keras as rk  # noqa: E402
from rnnkit.data.text_folders import index_text_folders  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_sentiment.csv"


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """tiny_sentiment.csv filed as aclImdb is: one .txt per text under negative/ and positive/ (some in a subfolder),
    plus a stray file at the top and a hidden folder, which Keras ignores."""
    root = tmp_path_factory.mktemp("texts")
    with open(FIXTURE, encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            sub = root / row["label"] / ("more" if i % 7 == 0 else "")
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"{i:03d}.txt").write_text(row["text"], encoding="utf-8")
    (root / "README.txt").write_text("not a text of any class")
    (root / ".cache").mkdir()
    (root / ".cache" / "x.txt").write_text("hidden")
    (root / "negative" / "notes.md").write_text("not .txt")
    return root


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("class_names", [None, ["positive", "negative"]])
def test_the_files_are_indexed_in_keras_order(folder, shuffle, class_names):
    theirs = dataset_utils.index_directory(str(folder), "inferred", formats=(".txt",), class_names=class_names,
                                           shuffle=shuffle, seed=11, verbose=False)
    paths, labels, names = index_text_folders(folder, class_names, shuffle=shuffle, seed=11)
    assert [str(p) for p in paths] == theirs[0] and labels.tolist() == theirs[1].tolist() and names == theirs[2]


def test_the_training_and_validation_files_are_keras_split(folder):
    paths, labels, _ = dataset_utils.index_directory(str(folder), "inferred", formats=(".txt",), shuffle=True, seed=3,
                                                     verbose=False)
    train, val = rk.utils.text_dataset_from_directory(folder, batch_size=16, validation_split=0.25, subset="both",
                                                      seed=3, verbose=False)
    n_val = int(0.25 * len(paths))
    assert train.file_paths == paths[:-n_val] and val.file_paths == paths[-n_val:]
    assert train.class_names == val.class_names == ["negative", "positive"]
    texts, y = val[0]
    assert texts.dtype == object and y.dtype == np.int32 and y.tolist() == labels[-n_val:][:16].tolist()
    assert texts[0] == Path(val.file_paths[0]).read_text(encoding="utf-8")
    assert len(train) == -(-len(train.file_paths) // 16)


def test_label_modes_truncation_and_unlabelled_files(folder):
    ds = rk.utils.text_dataset_from_directory(folder, label_mode="categorical", shuffle=False, max_length=5,
                                              verbose=False)
    texts, y = ds[0]
    assert y.shape == (32, 2) and y.dtype == np.float32 and (y.sum(1) == 1).all()
    assert all(len(t) <= 5 for t in texts)
    _, y = rk.utils.text_dataset_from_directory(folder, label_mode="binary", shuffle=False, verbose=False)[0]
    assert y.shape == (32, 1) and set(np.unique(y)) == {0.0}  # sorted: the negative texts first
    unlabelled = rk.utils.text_dataset_from_directory(folder, labels=None, shuffle=False, verbose=False)
    theirs = dataset_utils.index_directory(str(folder), None, formats=(".txt",), shuffle=False, verbose=False)
    assert unlabelled.file_paths == theirs[0] and isinstance(unlabelled[0], np.ndarray)


def test_keras_refusals(folder):
    with pytest.raises(ValueError, match="you must provide a `seed`"):
        rk.utils.text_dataset_from_directory(folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="`validation_split` must be set"):
        rk.utils.text_dataset_from_directory(folder, subset="training", seed=1)
    with pytest.raises(ValueError, match="exactly 2 class_names"):
        rk.utils.text_dataset_from_directory(folder, label_mode="binary", class_names=["negative"], verbose=False)
    with pytest.raises(ValueError, match="did not match the names of the subdirectories"):
        rk.utils.text_dataset_from_directory(folder, class_names=["spam"], verbose=False)


def test_the_keras_io_text_classification_flow_trains_on_the_folder(folder):
    # keras.io's "text classification from scratch": adapt a vectorizer on the texts, train end to end on raw strings
    train, val = rk.utils.text_dataset_from_directory(folder, batch_size=16, validation_split=0.2, subset="both",
                                                      seed=1, verbose=False)
    vectorize = rk.layers.TextVectorization(max_tokens=200, output_sequence_length=12)
    vectorize.adapt(train.map(lambda x, y: x))
    inputs = rk.Input(shape=(1,), dtype="string")
    h = rk.layers.LSTM(8)(rk.layers.Embedding(200, 8, mask_zero=True)(vectorize(inputs)))
    model = rk.Model(inputs, rk.layers.Dense(1, activation="sigmoid")(h))
    model.compile(rk.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    rk.utils.set_random_seed(0)
    history = model.fit(train, validation_data=val, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(val, verbose=0).shape == (len(val.file_paths), 1)


def test_the_classify_task_trains_on_a_folder_of_class_folders(folder, tmp_path):
    from rnnkit.tasks.classify import ClassifyOptions, load_labelled, train_classifier

    opts = ClassifyOptions(data=str(folder), min_freq=1, hidden_size=8, epochs=2, progress=False)
    train, val, test = load_labelled(opts)
    assert test is None and len(train) + len(val) == 240 and {e.label for e in train} == {"negative", "positive"}
    results = train_classifier(opts, tmp_path / "run")
    assert 0.0 <= results["validation_accuracy"] <= 1.0
    (folder / "negative" / "empty.txt").write_text("  ")
    try:
        with pytest.raises(ValueError, match="empty.txt: the file is empty"):
            load_labelled(opts)
    finally:
        (folder / "negative" / "empty.txt").unlink()


def test_the_classify_task_reads_pytorchs_names_layout_one_file_per_class(tmp_path):
    # PyTorch's "Classifying Names with a Character-Level RNN" reads data/names/*.txt as the tutorial writes it:
    # category = the file's name without .txt, lines = open(f, encoding="utf-8").read().strip().split("\n")
    import glob
    import os

    from rnnkit.tasks.classify import ClassifyOptions, load_labelled, train_classifier

    names = tmp_path / "names"
    names.mkdir()
    (names / "English.txt").write_text("Smith\nJones\nBrown\n\nTaylor\n", encoding="utf-8")
    (names / "German.txt").write_text("Müller\nSchmidt\nWeber\n", encoding="utf-8")
    (names / "Italian.txt").write_text("Rossi\nRusso\nFerrari\nBianchi\n", encoding="utf-8")
    tutorial = set()
    for filename in glob.glob(str(names / "*.txt")):
        category = os.path.splitext(os.path.basename(filename))[0]
        lines = open(filename, encoding="utf-8").read().strip().split("\n")
        tutorial |= {(line, category) for line in lines if line}
    opts = ClassifyOptions(data=str(names), tokenizer="char", min_freq=1, hidden_size=8, epochs=2, val_fraction=0.2,
                           progress=False)
    train, val, _ = load_labelled(opts)
    assert {(e.text, e.label) for e in train + val} == tutorial and len(train + val) == len(tutorial)
    assert train_classifier(opts, tmp_path / "run")["validation_accuracy"] >= 0.0
    (names / "Greek.txt").write_text("\n \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"Greek.txt: the file is empty"):
        load_labelled(opts)
