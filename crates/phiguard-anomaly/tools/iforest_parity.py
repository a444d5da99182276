"""scikit-learn's IsolationForest on the splits dumped by `examples/iforest_parity.rs`.

Usage: python iforest_parity.py --dump DIR --forests F [--first-forest K] FILE.csv...
Prints `sklearn<TAB>set<TAB>split<TAB>forest<TAB>auc` for every dumped split of every file and
every random_state in K..K+F (the default IsolationForest: 100 trees, max_samples="auto").
Then, when given the Rust example's output (--ours FILE), a per-set comparison: mean AUC-ROC of
both, the mean paired difference over splits (each split's AUC averaged over the forest seeds)
and its standard error.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--forests", type=int, default=5)
    ap.add_argument("--first-forest", type=int, default=0)
    ap.add_argument("--ours")
    ap.add_argument("--sk")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
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
