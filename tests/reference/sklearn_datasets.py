#!/usr/bin/python3
"""scikit-learn's scores on the small data sets it ships: the reference that
moonforge's examples/sklearn_datasets.lua and tests/test_sklearn_datasets.lua
compare against (issue 8, "Correctness").

Run from the repository root, with Debian's python3-sklearn (1.2.1):

    /usr/bin/python3 tests/reference/sklearn_datasets.py --write-data   # data + reference
    /usr/bin/python3 tests/reference/sklearn_datasets.py                # reference only

--write-data converts the data files under
/usr/lib/python3/dist-packages/sklearn/datasets/data/ into the plain CSV files
of examples/data/sklearn/ (a header of column names, the target last).
Without it the data is read back from those CSV files, so the reference is
computed from exactly the bytes moonforge reads.

Writes (and prints as a table):
  tests/fixtures/sklearn_reference.csv   dataset, model, params, scaled,
                                          eval, metric, sklearn
      eval "test": fitted on the train rows, scored on the test rows;
      eval "cv5": mean of cross_val_score with StratifiedKFold(5)
      (classifiers) or KFold(5) (regressors), no shuffling, on all rows.
  tests/fixtures/sklearn_test_rows.csv   dataset, row: the test rows
      (1-based) of train_test_split(test_size=0.25, random_state=0,
      stratify=y for the classifiers), so both sides use the same split.
  tests/fixtures/sklearn_folds.csv       dataset, row, fold: the test fold
      (1-based) of each row under StratifiedKFold(n_splits=5), to check that
      moonforge's StratifiedKFold deals the same folds.
"""
import csv
import os
import sys

import numpy as np
import sklearn
from sklearn import datasets
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC, LinearSVC

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATA = os.path.join(ROOT, "examples", "data", "sklearn")
FIXTURES = os.path.join(ROOT, "tests", "fixtures")

CLASSIFICATION = ["iris", "wine", "breast_cancer", "digits"]
REGRESSION = ["diabetes"]


def clean_name(name):
    """'sepal length (cm)' -> 'sepal_length', 'od280/od315_of_diluted_wines'
    -> 'od280_od315_of_diluted_wines', 'mean radius' -> 'mean_radius'."""
    name = name.replace(" (cm)", "")
    out = []
    for ch in name.lower():
        out.append(ch if ch.isalnum() else "_")
    return "_".join(p for p in "".join(out).split("_") if p)


def load_sklearn(name):
    """(column names, X, y) from scikit-learn's own loaders."""
    if name == "iris":
        b = datasets.load_iris()
    elif name == "wine":
        b = datasets.load_wine()
    elif name == "breast_cancer":
        b = datasets.load_breast_cancer()
    elif name == "diabetes":
        b = datasets.load_diabetes(scaled=False)   # the raw, unscaled values
    elif name == "digits":
        b = datasets.load_digits()
    else:
        raise ValueError(name)
    if name == "digits":
        names = ["pixel_%d_%d" % (i // 8, i % 8) for i in range(64)]
    else:
        names = [clean_name(n) for n in b.feature_names]
    return names, np.asarray(b.data, dtype=np.float64), np.asarray(b.target)


def fmt_column(col):
    """A column's values as text: integers when every value is one, else the
    shortest repr that reads back to the same float64."""
    if np.all(col == np.floor(col)):
        return [str(int(v)) for v in col]
    return [repr(float(v)) for v in col]


def write_data(name):
    names, X, y = load_sklearn(name)
    cols = [fmt_column(X[:, j]) for j in range(X.shape[1])]
    cols.append(fmt_column(np.asarray(y, dtype=np.float64)))
    path = os.path.join(DATA, name + ".csv")
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names + ["target"])
        for i in range(X.shape[0]):
            w.writerow([c[i] for c in cols])
    X2, y2 = read_data(name)   # the file reads back to exactly scikit-learn's values
    assert np.array_equal(X2, X) and np.array_equal(y2, y), name
    print("wrote %s (%d rows x %d columns)" % (os.path.relpath(path, ROOT), X.shape[0], X.shape[1] + 1))


def read_data(name):
    """(X, y) from examples/data/sklearn/<name>.csv (target = last column)."""
    with open(os.path.join(DATA, name + ".csv")) as f:
        rows = list(csv.reader(f))
    a = np.array(rows[1:], dtype=np.float64)
    X, y = a[:, :-1], a[:, -1]
    if name in CLASSIFICATION:
        y = y.astype(np.int64)
    return X, y


def scaled(model):
    return make_pipeline(StandardScaler(), model)


# (model label, params text, scaled?, factory, evaluations): the label and
# params are what moonforge's side looks up; evaluations "test" and/or "cv5".
def regression_models():
    return [
        ("LinearRegression", "", False, lambda: LinearRegression(), ["test", "cv5"]),
        ("Ridge", "alpha=1", False, lambda: Ridge(alpha=1.0), ["test", "cv5"]),
        ("Lasso", "alpha=0.1", False, lambda: Lasso(alpha=0.1, max_iter=100000), ["test"]),
        ("ElasticNet", "alpha=0.1 l1_ratio=0.5", False,
         lambda: ElasticNet(alpha=0.1, l1_ratio=0.5, max_iter=100000), ["test"]),
    ]


def classification_models(name):
    cv = name in ("iris", "breast_cancer")
    return [
        ("LogisticRegression", "C=1", True,
         lambda: LogisticRegression(C=1.0, max_iter=10000), ["test", "cv5"] if cv else ["test"]),
        ("LinearSVC", "C=1 dual=false", True,
         lambda: LinearSVC(C=1.0, dual=False, max_iter=10000), ["test"]),
        ("KNeighborsClassifier", "n_neighbors=5", True,
         lambda: KNeighborsClassifier(n_neighbors=5), ["test", "cv5"] if name == "wine" else ["test"]),
        ("GaussianNB", "", False, lambda: GaussianNB(), ["test", "cv5"] if cv else ["test"]),
        ("SVC", "kernel=rbf C=1 gamma=scale", True,
         lambda: SVC(kernel="rbf", C=1.0, gamma="scale"), ["test", "cv5"] if name == "breast_cancer" else ["test"]),
        ("SVC", "kernel=linear C=1", True, lambda: SVC(kernel="linear", C=1.0), ["test"]),
        ("SVC", "kernel=poly degree=3 C=1", True, lambda: SVC(kernel="poly", degree=3, C=1.0), ["test"]),
    ]


def main(argv):
    if "--write-data" in argv:
        os.makedirs(DATA, exist_ok=True)
        for name in CLASSIFICATION + REGRESSION:
            write_data(name)
    results, test_rows, folds = [], [], []
    for name in ["iris", "wine", "breast_cancer", "diabetes", "digits"]:
        X, y = read_data(name)
        classifier = name in CLASSIFICATION
        idx = np.arange(X.shape[0])
        _, test_idx = train_test_split(idx, test_size=0.25, random_state=0,
                                       stratify=y if classifier else None)
        test_idx = np.sort(test_idx)
        train_idx = np.setdiff1d(idx, test_idx)
        test_rows += [(name, int(i) + 1) for i in test_idx]
        if classifier:
            splitter = StratifiedKFold(n_splits=5)
            fold_of = np.empty(X.shape[0], dtype=np.int64)
            for f, (_, te) in enumerate(splitter.split(X, y)):
                fold_of[te] = f + 1
            folds += [(name, i + 1, int(fold_of[i])) for i in range(X.shape[0])]
        else:
            splitter = KFold(n_splits=5)
        models = classification_models(name) if classifier else regression_models()
        metric = "accuracy" if classifier else "r2"
        for label, params, sc, factory, evals in models:
            def make():
                return scaled(factory()) if sc else factory()
            for ev in evals:
                if ev == "test":
                    est = make().fit(X[train_idx], y[train_idx])
                    score = est.score(X[test_idx], y[test_idx])
                else:
                    score = cross_val_score(make(), X, y, cv=splitter).mean()
                results.append((name, label, params, "yes" if sc else "no", ev, metric, float(score)))

    with open(os.path.join(FIXTURES, "sklearn_reference.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dataset", "model", "params", "scaled", "eval", "metric", "sklearn"])
        for r in results:
            w.writerow(list(r[:-1]) + [repr(r[-1])])
    with open(os.path.join(FIXTURES, "sklearn_test_rows.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dataset", "row"])
        w.writerows(test_rows)
    with open(os.path.join(FIXTURES, "sklearn_folds.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dataset", "row", "fold"])
        w.writerows(folds)

    print("scikit-learn %s, numpy %s" % (sklearn.__version__, np.__version__))
    print("%-14s %-22s %-28s %-6s %-5s %s" % ("dataset", "model", "params", "scaled", "eval", "score"))
    for r in results:
        print("%-14s %-22s %-28s %-6s %-5s %.4f" % (r[0], r[1], r[2], r[3], r[4], r[6]))


if __name__ == "__main__":
    main(sys.argv[1:])
