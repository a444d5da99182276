#!/usr/bin/env python3
"""Screens a one-class SVM as a fifth member of the default ensemble (BENCHMARKS.md, "OCSVM").

scikit-learn's OneClassSVM (RBF kernel, nu 0.5, gamma 1/d: PyOD's and ADBench's defaults) on raw,
standardised and min-max-scaled features, alone and added to a mean of z-scores of the Isolation
Forest, ECOD, COPOD and a Mahalanobis PCA (the prototype's analogue of the default); scikit-learn's
stratified 70/30 splits, seeds 0-2; AUC-ROC in percent.

Usage: python ocsvm_screen.py ../shared/datasets/adbench/*.csv   (needs numpy, pandas,
scikit-learn, pyod)
"""
import sys, numpy as np, pandas as pd, warnings
warnings.filterwarnings("ignore")
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler, MinMaxScaler
from sklearn.svm import OneClassSVM
from sklearn.ensemble import IsolationForest
from pyod.models.ecod import ECOD
from pyod.models.copod import COPOD
def pca_maha(Xtr, Xte):
    mu = Xtr.mean(0); sd = Xtr.std(0); sd[sd==0]=1
    Z = (Xtr-mu)/sd; C = np.cov(Z.T) + 1e-6*np.eye(Z.shape[1])
    w, V = np.linalg.eigh(C); w = np.maximum(w, 1e-9)
    P = ((Xte-mu)/sd) @ V
    return (P**2 / w).sum(1), ((Z@V)**2/w).sum(1)
def zs(tr, te):
    m, s = tr.mean(), tr.std() or 1.0
    return (te-m)/s
rows=[]
for f in sys.argv[1:]:
    d = pd.read_csv(f); y = d['y'].values; X = d.drop(columns=['y']).values.astype(float)
    res = {}
    for seed in range(3):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
        sc = {}
        for name, mk in [("iforest", lambda: IsolationForest(random_state=seed)),]:
            m = mk().fit(Xtr); sc[name] = (-m.score_samples(Xtr), -m.score_samples(Xte))
        for name, cls in [("ecod", ECOD), ("copod", COPOD)]:
            m = cls().fit(Xtr); sc[name] = (m.decision_scores_, m.decision_function(Xte))
        te, tr = pca_maha(Xtr, Xte); sc["pca"] = (tr, te)
        for name, scaler in [("ocsvm_raw", None), ("ocsvm_std", StandardScaler()), ("ocsvm_mm", MinMaxScaler())]:
            A, B = (Xtr, Xte) if scaler is None else (scaler.fit_transform(Xtr), scaler.transform(Xte))
            g = 1.0/X.shape[1]
            m = OneClassSVM(kernel="rbf", nu=0.5, gamma=g).fit(A)
            sc[name] = (-m.decision_function(A), -m.decision_function(B))
        base = ["iforest","ecod","copod","pca"]
        sc["mean4"] = (None, sum(zs(*sc[k]) for k in base)/4)
        for o in ["ocsvm_std","ocsvm_mm"]:
            sc["mean4+"+o] = (None, (sum(zs(*sc[k]) for k in base)+zs(*sc[o]))/5)
        for k,(a,b) in sc.items():
            res.setdefault(k, []).append(roc_auc_score(yte, b))
    print(f.split('/')[-1], " ".join(f"{k}={100*np.mean(v):.2f}" for k,v in res.items()), flush=True)
