"""bench/svm_peer.py — scikit-learn's SVC (libsvm, one thread) on the rows
and split of bench/svm.lua: the first N rows of tabular_defect.csv, an 80/20
split whose test rows moonforge chose (so that both fit the same rows; the
test rows are written by `build/moonforge bench/svm_split.lua`), features
standardized on the training rows. Prints JSON lines like bench/svm.lua.

    /usr/bin/python3 bench/svm_peer.py [DATA_DIR]
"""
import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

data = sys.argv[1] if len(sys.argv) > 1 else "bench/data"
frame = pd.read_csv(f"{data}/tabular_defect.csv")
for n in (5000, 20000):
    test = subprocess.run(["build/moonforge", "-e",
                           f"local mf = require 'moonforge'; local _, te = mf.data.train_test_split("
                           f"mf.arange(1, {n} + 1, 'int64'), {{test_size = 0.2, seed = 0}}); "
                           f"print(table.concat(te:totable(), ' '))"],
                          capture_output=True, text=True, check=True).stdout.split()
    test_rows = np.array([int(v) - 1 for v in test])
    mask = np.zeros(n, bool)
    mask[test_rows] = True
    X = frame.iloc[:n, :-1].to_numpy(np.float64)
    y = frame.iloc[:n, -1].to_numpy()
    Xtr, Xte, ytr, yte = X[~mask], X[test_rows], y[~mask], y[test_rows]
    sc = StandardScaler().fit(Xtr)
    Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
    for kernel in ("rbf", "linear"):
        if kernel == "linear" and n > 5000:
            continue
        times = []
        for _ in range(1 if n > 5000 else 3):
            t0 = time.perf_counter()
            m = SVC(kernel=kernel, C=1.0).fit(Xtr, ytr)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        acc = m.score(Xte, yte)
        tp = time.perf_counter() - t0
        print(json.dumps({"workload": f"SVC_{kernel}_{n // 1000}k", "tool": "sklearn.SVC", "threads": 1,
                          "seconds": sorted(times)[len(times) // 2], "predict_seconds": tp,
                          "metric": acc, "metric_name": "test_acc", "n_iter": int(m.n_iter_.sum()),
                          "n_support": int(m.n_support_.sum())}), flush=True)
