#!/usr/bin/env python3
"""Prototype: unsupervised detector selection by Goix's Excess-Mass / Mass-Volume criteria.

For each csv (x0..x{d-1},y) and seed: stratified 70/30 split, fit each member on the training
part without labels, compute EM and MV of each member's scoring function on the training part
(feature sub-sampling when d > 8, as Goix 2016 does), pick the best member by each criterion,
report test AUC-ROC of every member, of the mean-z ensemble, of each selection and of the oracle.
The screening of round 4 in ../BENCHMARKS.md.

Usage: python3 -m venv V && V/bin/pip install scikit-learn pandas pyod
       V/bin/python emmv_selection.py DATA.csv...
"""
import sys
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score, auc
from sklearn.ensemble import IsolationForest
from pyod.models.ecod import ECOD
from pyod.models.copod import COPOD
from pyod.models.pca import PCA as PPCA

N_GEN = 20000
ALPHA = np.arange(0.9, 0.999, 0.001)
MAX_F = 5
N_SUB = 20
files = [a for a in sys.argv[1:] if a.endswith(".csv")]


def members(seed):
    return {
        "iforest": lambda: IsolationForest(n_estimators=100, random_state=seed),
        "ecod": lambda: ECOD(),
        "copod": lambda: COPOD(),
        "pca": lambda: PPCA(standardization=True),
    }


def anomaly_scores(name, model, X):
    if name == "iforest":
        return -model.score_samples(X)
    s = model.decision_function(X)
    s = np.nan_to_num(s, nan=0.0, posinf=1e300, neginf=-1e300)
    return s


def em_mv(s_X, s_unif, vol):
    """s_*: normality scores (higher = more normal). Returns (EM auc, MV auc)."""
    n = len(s_X)
    # MV
    order = np.sort(s_X)[::-1]
    mv = np.empty(len(ALPHA))
    for i, a in enumerate(ALPHA):
        k = min(n, max(1, int(np.ceil(a * n))))
        u = order[k - 1]
        mv[i] = (s_unif >= u).mean() * vol
    mv_auc = auc(ALPHA, mv)
    # EM
    t = np.arange(0, 100 / vol, 0.01 / vol)
    us = np.unique(s_X)
    if len(us) > 1000:
        us = np.quantile(s_X, np.linspace(0, 1, 1000))
    sx = np.sort(s_X)
    su = np.sort(s_unif)
    fx = 1.0 - np.searchsorted(sx, us, side="right") / n
    fu = (1.0 - np.searchsorted(su, us, side="right") / len(su)) * vol
    em = np.maximum(1.0 * (t == 0), np.max(fx[None, :] - t[:, None] * fu[None, :], axis=1))
    em[0] = 1.0
    amax = np.argmax(em <= 0.9) + 1
    if amax == 1:
        amax = len(t)
    em_auc = auc(t[:amax], em[:amax]) if amax > 1 else 0.0
    return em_auc, mv_auc


def criteria(name, seed, Xtr, rng):
    d = Xtr.shape[1]
    subsets = [np.arange(d)] if d <= 8 else [rng.choice(d, MAX_F, replace=False) for _ in range(N_SUB)]
    ems, mvs = [], []
    for f in subsets:
        X = Xtr[:, f]
        lo, hi = X.min(0), X.max(0)
        keep = hi > lo
        if keep.sum() == 0:
            continue
        X = X[:, keep]
        lo, hi = lo[keep], hi[keep]
        vol = float(np.prod(hi - lo))
        unif = rng.uniform(lo, hi, size=(N_GEN, X.shape[1]))
        m = members(seed)[name]()
        m.fit(X)
        s_X = -anomaly_scores(name, m, X)
        s_u = -anomaly_scores(name, m, unif)
        e, v = em_mv(s_X, s_u, vol)
        ems.append(e)
        mvs.append(v)
    return float(np.mean(ems)), float(np.mean(mvs))


def zs(tr, te):
    mu, sd = tr.mean(), tr.std()
    sd = sd if sd > 0 else 1.0
    return (te - mu) / sd


rows = []
for path in files:
    df = pd.read_csv(path)
    y = df["y"].to_numpy().astype(int)
    X = df.drop(columns=["y"]).to_numpy().astype(float)
    name_ds = path.rsplit("/", 1)[-1].replace(".csv", "")
    for seed in range(3):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
        rng = np.random.default_rng(seed)
        res = {}
        ens_te = np.zeros(len(yte))
        for nm in members(seed):
            m = members(seed)[nm]()
            m.fit(Xtr)
            s_tr = anomaly_scores(nm, m, Xtr)
            s_te = anomaly_scores(nm, m, Xte)
            ens_te += zs(s_tr, s_te)
            a = roc_auc_score(yte, s_te)
            e, v = criteria(nm, seed, Xtr, rng)
            res[nm] = (a, e, v)
        ens = roc_auc_score(yte, ens_te)
        em_pick = max(res, key=lambda k: res[k][1])
        mv_pick = min(res, key=lambda k: res[k][2])
        row = dict(ds=name_ds, seed=seed, ens=ens, em_sel=res[em_pick][0], mv_sel=res[mv_pick][0],
                   oracle=max(r[0] for r in res.values()), em_pick=em_pick, mv_pick=mv_pick)
        for nm, (a, e, v) in res.items():
            row[nm] = a
        rows.append(row)
        print(name_ds, seed, " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if k not in ("ds", "seed")), flush=True)

df = pd.DataFrame(rows)
cols = ["iforest", "ecod", "copod", "pca", "ens", "em_sel", "mv_sel", "oracle"]
g = df.groupby("ds")[cols].mean() * 100
print(g.round(2).to_string())
print("mean", (g.mean()).round(2).to_dict())
print(df.groupby("ds")[["em_pick", "mv_pick"]].agg(lambda s: ",".join(s)).to_string())
