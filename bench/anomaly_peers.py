"""Run scikit-learn and PyOD on the splits phiguard uses, and print both side by side.

Called by anomaly_peers.sh inside a throwaway virtualenv. Splits come from
`phiguard anomaly split` / `phiguard iomt folds`, so every model sees exactly the same rows.
"""
import argparse
import csv
import glob
import json
import os
import subprocess
import time

import numpy as np
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score


def run_json(cmd):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def load_csv(path, label="y"):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    li = header.index(label)
    data = np.array([[float(v) for v in r] for r in rows[1:]])
    y = data[:, li].astype(int)
    x = np.delete(data, li, axis=1)
    return x, y


def peers():
    from pyod.models.copod import COPOD
    from pyod.models.ecod import ECOD
    from pyod.models.hbos import HBOS
    from pyod.models.iforest import IForest
    from pyod.models.knn import KNN
    from pyod.models.loda import LODA
    from pyod.models.pca import PCA

    def sk_iforest(seed):
        m = IsolationForest(random_state=seed)
        return m, lambda x: -m.score_samples(x)

    def wrap(cls, **kw):
        def make(seed):
            m = cls(**kw)
            return m, m.decision_function
        return make

    def pyod_loda(seed):
        np.random.seed(seed)  # PyOD's LODA draws its projections from the global generator
        m = LODA()
        return m, m.decision_function

    return {
        "sklearn_iforest": sk_iforest,
        "pyod_iforest": lambda s: wrap(IForest, random_state=s)(s),
        "pyod_hbos": wrap(HBOS),
        "pyod_ecod": wrap(ECOD),
        "pyod_copod": wrap(COPOD),
        "pyod_pca": wrap(PCA),
        "pyod_knn": wrap(KNN),
        "pyod_loda": pyod_loda,
    }


def adbench(phiguard, directory):
    ours_means, sk_means = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*.csv"))):
        ours = run_json([phiguard, "anomaly", "eval", "--csv", path])
        splits = run_json([phiguard, "anomaly", "split", "--csv", path])["splits"]
        x, y = load_csv(path)
        res = {}
        for name, make in peers().items():
            roc = pr = ms = 0.0
            try:
                for sp in splits:
                    tr, te = np.array(sp["train"]), np.array(sp["test"])
                    m, score = make(sp["seed"])
                    t0 = time.perf_counter()
                    m.fit(x[tr])
                    s = score(x[te])
                    ms += (time.perf_counter() - t0) * 1e3
                    roc += roc_auc_score(y[te], s)
                    pr += average_precision_score(y[te], s)
            except ValueError as e:  # e.g. PyOD PCA returns inf on a constant column
                print(f"# {name} failed on {os.path.basename(path)}: {str(e)[:80]}")
                continue
            n = len(splits)
            res[name] = (roc / n, pr / n, ms / n)
        print(f"\n## {ours['dataset']} ({ours['rows']} x {ours['features']}), mean of {len(splits)} seeds, 70/30 stratified")
        print(f"{'detector':<10} {'ours AUC-ROC':>12} {'peer AUC-ROC':>12} {'ours AUC-PR':>11} {'peer AUC-PR':>11} {'ours ms':>9} {'peer ms':>9} {'speedup':>8}  peer")
        for det, d in ours["detectors"].items():
            peer = {"iforest": "sklearn_iforest", "default": "sklearn_iforest"}.get(det, f"pyod_{det}")
            pr_ = res.get(peer)
            oms = d["fit_ms"] + d["score_ms"]
            if pr_:
                print(f"{det:<10} {d['auc_roc']*100:12.2f} {pr_[0]*100:12.2f} {d['auc_pr']*100:11.2f} {pr_[1]*100:11.2f} {oms:9.2f} {pr_[2]:9.2f} {pr_[2]/max(oms,1e-6):7.1f}x  {peer}")
            else:
                print(f"{det:<10} {d['auc_roc']*100:12.2f} {'n/a':>12} {d['auc_pr']*100:11.2f} {'n/a':>11} {oms:9.2f} {'n/a':>9} {'':>8}  {peer}")
        p = res.get("pyod_iforest")
        if p:
            print(f"{'(pyod iforest)':<10} {'':>12} {p[0]*100:12.2f} {'':>11} {p[1]*100:11.2f} {'':>9} {p[2]:9.2f}")
        ours_means.append(ours["default"]["auc_roc"])
        sk_means.append(res["sklearn_iforest"][0])
    print(f"\nmean AUC-ROC over {len(ours_means)} sets: phiguard default {np.mean(ours_means)*100:.2f}, scikit-learn IsolationForest {np.mean(sk_means)*100:.2f}")


def single_row_latency(phiguard, directory):
    path = sorted(glob.glob(os.path.join(directory, "*annthyroid*.csv")) or glob.glob(os.path.join(directory, "*.csv")))[0]
    x, _ = load_csv(path)
    m = IsolationForest(random_state=0).fit(x)
    row = x[:1]
    lat = []
    for i in range(200):
        t0 = time.perf_counter()
        m.score_samples(x[i : i + 1])
        lat.append((time.perf_counter() - t0) * 1e6)
    lat.sort()
    print(f"\n## single-event scoring on {os.path.basename(path)}")
    print(f"scikit-learn IsolationForest.score_samples(1 row): p50 {lat[len(lat)//2]:.0f} us, p99 {lat[int(len(lat)*0.99)]:.0f} us")
    out = subprocess.run([phiguard, "anomaly", "bench", "--csv", path], check=True, capture_output=True, text=True).stdout
    print("phiguard anomaly bench:\n" + out)
    del row


def wustl(phiguard, path):
    meta = run_json([phiguard, "iomt", "folds", "--wustl", path])
    ours = run_json([phiguard, "iomt", "eval", "--wustl", path])
    with open(path, newline="") as f:
        r = csv.DictReader(f, skipinitialspace=True)
        rows = list(r)
    y = np.array([int(row["Label"]) for row in rows])
    groups = {
        "network": meta["network"],
        "biometric": meta["biometric"],
        "combined": meta["network"] + meta["biometric"],
    }
    folds = [np.array(f) for f in meta["folds"]]
    n = len(y)
    mats = {g: np.array([[float(row[c]) for c in cols] for row in rows]) for g, cols in groups.items()}
    print(f"\n## WUSTL-EHMS-2020 ({n} rows), stratified {len(folds)}-fold, identifier columns removed")
    print("ours supervised 'combined' = mean of the network, biometric and all-feature forests' probabilities;")
    print("the peer gets both: one RandomForest on all features, and the same three-forest fusion.")
    print(f"{'model':<13} {'features':<10} {'ours AUC':>9} {'peer AUC':>9} {'ours F1':>8} {'peer F1':>8} {'ours acc':>9} {'peer acc':>9}  peer")

    def metrics(scores, preds):
        k = len(folds)
        auc = sum(roc_auc_score(y[te], s) for te, s in zip(folds, scores)) / k
        f1 = sum(f1_score(y[te], p) for te, p in zip(folds, preds)) / k
        acc = sum(accuracy_score(y[te], p) for te, p in zip(folds, preds)) / k
        return auc, f1, acc

    def line(kind, g, ours_key, m, peer, secs):
        o = ours[kind][ours_key]
        print(f"{kind:<13} {g:<10} {o['auc_roc']*100:9.2f} {m[0]*100:9.2f} {o['f1']*100:8.2f} {m[1]*100:8.2f} {o['accuracy']*100:9.2f} {m[2]*100:9.2f}  {peer} ({secs:.1f}s)")

    trains = []
    for te in folds:
        mask = np.ones(n, bool)
        mask[te] = False
        trains.append(np.nonzero(mask)[0])
    rf = {}
    for g, x in mats.items():
        t0 = time.perf_counter()
        rf[g] = [RandomForestClassifier(n_estimators=100, random_state=k, n_jobs=1).fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
                 for k, (tr, te) in enumerate(zip(trains, folds))]
        line("supervised", g, g, metrics(rf[g], [(p >= 0.5).astype(int) for p in rf[g]]), "sklearn RandomForest", time.perf_counter() - t0)
    fused = [(a + b + c) / 3 for a, b, c in zip(rf["network"], rf["biometric"], rf["combined"])]
    line("supervised", "fused", "combined", metrics(fused, [(p >= 0.5).astype(int) for p in fused]), "sklearn RandomForest x3 fused", 0.0)
    for g, x in mats.items():
        t0 = time.perf_counter()
        scores, preds = [], []
        for k, (tr, te) in enumerate(zip(trains, folds)):
            m = IsolationForest(random_state=k).fit(x[tr])
            s = -m.score_samples(x[te])
            thr = np.quantile(-m.score_samples(x[tr]), 0.9)
            scores.append(s)
            preds.append((s > thr).astype(int))
        line("unsupervised", g, g, metrics(scores, preds), "sklearn IsolationForest", time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phiguard", required=True)
    ap.add_argument("--adbench", required=True)
    ap.add_argument("--wustl", required=True)
    a = ap.parse_args()
    adbench(a.phiguard, a.adbench)
    single_row_latency(a.phiguard, a.adbench)
    if os.path.exists(a.wustl):
        wustl(a.phiguard, a.wustl)


if __name__ == "__main__":
    main()
