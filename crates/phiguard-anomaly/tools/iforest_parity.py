"""scikit-learn's IsolationForest on the splits dumped by `examples/iforest_parity.rs`.

Usage: python iforest_parity.py --dump DIR --forests F [--first-forest K] FILE.csv...
Prints `sklearn<TAB>set<TAB>split<TAB>forest<TAB>auc` for every dumped split of every file and
every random_state in K..K+F (the default IsolationForest: 100 trees, max_samples="auto").
Then, when given the Rust example's output (--ours FILE), a per-set comparison: mean AUC-ROC of
both, the mean paired difference over splits (each split's AUC averaged over the forest seeds)
and its standard error (which understates the forest-seed noise: a random_state, like our seed,
draws similar forests on different splits of one set, so that noise is shared across splits).

With --scores TREES and --ours (the Rust example's `--scores TREES` output), compares instead,
for every dumped split, the expected path length E[h(x)] of every test row under a forest of
TREES trees (recovered from the score as -log2(s) c(psi)): with enough trees both estimate the
same expectation if the algorithms agree.
"""
import argparse
import csv
import glob
import json
import os
from collections import defaultdict

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score


def load_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    li = header.index("y")
    data = np.array([[float(v) for v in r] for r in rows[1:]])
    return np.delete(data, li, axis=1), data[:, li].astype(int)


def c_factor(n):
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n


def compare_scores(a):
    ours = defaultdict(dict)
    for line in open(a.ours):
        _, name, s, i, v = line.split("\t")
        ours[(name, int(s))][int(i)] = float(v)
    print("set\tsplit\tpsi\tours AUC\tsk AUC\tmean diff E[h]\tsd\tmax |diff|")
    for path in a.files:
        name = os.path.splitext(os.path.basename(path))[0]
        x, y = load_csv(path)
        for (n, s), sc in sorted(ours.items()):
            if n != name:
                continue
            sp = json.load(open(os.path.join(a.dump, f"{name}__{s}.json")))
            tr, te = np.array(sp["train"]), np.array(sp["test"])
            m = IsolationForest(n_estimators=a.scores, random_state=0).fit(x[tr])
            sk = -m.score_samples(x[te])
            ou = np.array([sc[i] for i in te])
            c = c_factor(min(256, len(tr)))
            d = -np.log2(ou) * c + np.log2(sk) * c
            print(f"{name}\t{s}\t{min(256, len(tr))}\t{100*roc_auc_score(y[te], ou):.2f}\t{100*roc_auc_score(y[te], sk):.2f}\t{d.mean():+.4f}\t{d.std():.4f}\t{np.abs(d).max():.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--forests", type=int, default=5)
    ap.add_argument("--first-forest", type=int, default=0)
    ap.add_argument("--ours")
    ap.add_argument("--sk")
    ap.add_argument("--scores", type=int)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.scores:
        compare_scores(a)
        return
    res = defaultdict(dict)  # (set, split) -> {(who, forest): auc}
    if a.sk:
        for line in open(a.sk):
            who, name, s, f, auc = line.split("\t")
            res[(name, int(s))][(who, int(f))] = float(auc)
    for path in a.files:
        name = os.path.splitext(os.path.basename(path))[0]
        x, y = load_csv(path)
        for js in sorted(glob.glob(os.path.join(a.dump, f"{name}__*.json"))):
            s = int(js.rsplit("__", 1)[1].split(".")[0])
            sp = json.load(open(js))
            tr, te = np.array(sp["train"]), np.array(sp["test"])
            for f in range(a.first_forest, a.first_forest + a.forests):
                m = IsolationForest(random_state=f).fit(x[tr])
                auc = roc_auc_score(y[te], -m.score_samples(x[te]))
                res[(name, s)][("sklearn", f)] = auc
                print(f"sklearn\t{name}\t{s}\t{f}\t{auc:.6f}", flush=True)
    if not a.ours:
        return
    for line in open(a.ours):
        who, name, s, f, auc = line.split("\t")
        res[(name, int(s))][(who, int(f))] = float(auc)
    sets = sorted({k[0] for k in res})
    print("\nset\tours\tsklearn\tdiff\tse\tsplits")
    om, sm = [], []
    for name in sets:
        diffs, o_all, s_all = [], [], []
        for (n, s), d in sorted(res.items()):
            if n != name:
                continue
            o = [v for (w, _), v in d.items() if w == "ours"]
            k = [v for (w, _), v in d.items() if w == "sklearn"]
            if not o or not k:
                continue
            o_all.append(np.mean(o))
            s_all.append(np.mean(k))
            diffs.append(np.mean(o) - np.mean(k))
        if not diffs:
            continue
        se = np.std(diffs, ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
        om.append(np.mean(o_all))
        sm.append(np.mean(s_all))
        print(f"{name}\t{100*np.mean(o_all):.2f}\t{100*np.mean(s_all):.2f}\t{100*np.mean(diffs):+.2f}\t{100*se:.2f}\t{len(diffs)}")
    print(f"mean\t{100*np.mean(om):.2f}\t{100*np.mean(sm):.2f}\t{100*(np.mean(om)-np.mean(sm)):+.2f}")


if __name__ == "__main__":
    main()
