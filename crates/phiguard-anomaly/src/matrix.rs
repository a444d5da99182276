//! A dense, row-major, validated matrix of `f64`.

use serde::{Deserialize, Serialize};

use crate::AnomalyError;

/// Dense row-major matrix whose values are all finite (checked at construction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// Builds a matrix from a row-major buffer; rejects wrong lengths and NaN/infinite values.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self, AnomalyError> {
        let expected = rows.checked_mul(cols).ok_or(AnomalyError::Shape {
            rows,
            cols,
            expected: usize::MAX,
            got: data.len(),
        })?;
        if data.len() != expected {
            return Err(AnomalyError::Shape {
                rows,
                cols,
                expected,
                got: data.len(),
            });
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(AnomalyError::NonFinite {
                row: i / cols.max(1),
                col: i % cols.max(1),
            });
        }
        Ok(Self { rows, cols, data })
    }

    /// Builds a matrix from `f32` values (converted to `f64`).
    pub fn from_f32(rows: usize, cols: usize, data: &[f32]) -> Result<Self, AnomalyError> {
        Self::new(rows, cols, data.iter().map(|&v| f64::from(v)).collect())
    }

    /// Builds a matrix from rows of equal length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self, AnomalyError> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * cols);
        for r in rows {
            if r.len() != cols {
                return Err(AnomalyError::Dimension {
                    expected: cols,
                    got: r.len(),
                });
            }
            data.extend_from_slice(r);
        }
        Self::new(rows.len(), cols, data)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` (an empty slice when out of range).
    pub fn row(&self, i: usize) -> &[f64] {
        self.data
            .get(i * self.cols..(i + 1) * self.cols)
            .unwrap_or(&[])
    }

    /// Iterator over the rows.
    pub fn iter_rows(&self) -> impl Iterator<Item = &[f64]> {
        self.data.chunks_exact(self.cols.max(1)).take(self.rows)
    }

    /// The values of column `j`.
    pub fn column(&self, j: usize) -> Vec<f64> {
        self.iter_rows().filter_map(|r| r.get(j).copied()).collect()
    }

    /// A new matrix holding the given rows (indices out of range are skipped).
    pub fn select_rows(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(idx.len() * self.cols);
        let mut n = 0;
        for &i in idx {
            if i < self.rows {
                data.extend_from_slice(self.row(i));
                n += 1;
            }
        }
        Self {
            rows: n,
            cols: self.cols,
            data,
        }
    }

    /// A new matrix holding the given columns (indices out of range are skipped).
    pub fn select_cols(&self, idx: &[usize]) -> Self {
        let keep: Vec<usize> = idx.iter().copied().filter(|&j| j < self.cols).collect();
        let mut data = Vec::with_capacity(self.rows * keep.len());
        for r in self.iter_rows() {
            data.extend(keep.iter().filter_map(|&j| r.get(j)));
        }
        Self {
            rows: self.rows,
            cols: keep.len(),
            data,
        }
    }

    /// The raw row-major buffer.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// Errors unless the matrix has at least one row and one column.
    pub(crate) fn require_non_empty(&self) -> Result<(), AnomalyError> {
        if self.rows == 0 || self.cols == 0 {
            return Err(AnomalyError::Empty {
                rows: self.rows,
                cols: self.cols,
            });
        }
        Ok(())
    }
}

/// Checks that a single row has the expected width and only finite values.
pub(crate) fn check_row(row: &[f64], expected: usize) -> Result<(), AnomalyError> {
    if row.len() != expected {
        return Err(AnomalyError::Dimension {
            expected,
            got: row.len(),
        });
    }
    if let Some(col) = row.iter().position(|v| !v.is_finite()) {
        return Err(AnomalyError::NonFinite { row: 0, col });
    }
    Ok(())
}

/// Per-column mean and standard deviation (population); a zero deviation is replaced by 1 so
/// that constant columns are centred but not blown up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1 where the column is constant).
    pub scale: Vec<f64>,
}

impl Scaler {
    /// Fits on the columns of `x`.
    pub fn fit(x: &Matrix) -> Self {
        let d = x.cols();
        let n = x.rows().max(1) as f64;
        let mut mean = vec![0.0; d];
        for r in x.iter_rows() {
            for (m, v) in mean.iter_mut().zip(r) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0; d];
        for r in x.iter_rows() {
            for ((s, v), m) in var.iter_mut().zip(r).zip(&mean) {
                *s += (v - m) * (v - m);
            }
        }
        let scale = var
            .iter()
            .map(|s| {
                let sd = (s / n).sqrt();
                if sd > 1e-12 && sd.is_finite() {
                    sd
                } else {
                    1.0
                }
            })
            .collect();
        Self { mean, scale }
    }

    /// Standardises one row into `out`.
    pub fn transform_into(&self, row: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.extend(
            row.iter()
                .zip(&self.mean)
                .zip(&self.scale)
                .map(|((v, m), s)| (v - m) / s),
        );
    }

    /// Standardises one row into a new vector.
    pub fn transform_row(&self, row: &[f64]) -> Vec<f64> {
        let mut z = Vec::with_capacity(row.len());
        self.transform_into(row, &mut z);
        z
    }

    /// Checks a row against the fitted width and for non-finite values (see `check_row`),
    /// then standardises it.
    pub(crate) fn checked_row(&self, row: &[f64]) -> Result<Vec<f64>, AnomalyError> {
        check_row(row, self.mean.len())?;
        Ok(self.transform_row(row))
    }

    /// Standardises a whole matrix.
    pub fn transform(&self, x: &Matrix) -> Matrix {
        let mut data = Vec::with_capacity(x.rows() * x.cols());
        let mut buf = Vec::with_capacity(x.cols());
        for r in x.iter_rows() {
            self.transform_into(r, &mut buf);
            data.extend_from_slice(&buf);
        }
        Matrix {
            rows: x.rows(),
            cols: x.cols(),
            data,
        }
    }
}
