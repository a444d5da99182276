//! Typed errors of the detector library.

use std::path::PathBuf;

/// Everything that can go wrong when fitting, scoring, loading or persisting a detector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnomalyError {
    /// A matrix was built from a buffer whose length is not `rows * cols`.
    #[error(
        "matrix shape mismatch: {rows} rows x {cols} columns needs {expected} values, got {got}"
    )]
    Shape {
        /// Rows requested.
        rows: usize,
        /// Columns requested.
        cols: usize,
        /// `rows * cols`.
        expected: usize,
        /// Length of the buffer.
        got: usize,
    },
    /// A value is NaN or infinite. Detectors never impute silently: clean or drop the row first.
    #[error("non-finite value (NaN or infinite) at row {row}, column {col}")]
    NonFinite {
        /// Zero-based row index.
        row: usize,
        /// Zero-based column index.
        col: usize,
    },
    /// Fitting needs at least one row and one column.
    #[error("cannot fit on an empty matrix ({rows} rows x {cols} columns)")]
    Empty {
        /// Rows given.
        rows: usize,
        /// Columns given.
        cols: usize,
    },
    /// The row to score does not have as many features as the training data.
    #[error("dimension mismatch: the model was fitted on {expected} features, got {got}")]
    Dimension {
        /// Features seen at fit time.
        expected: usize,
        /// Features given now.
        got: usize,
    },
    /// A hyperparameter is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    Parameter {
        /// Name of the parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A persisted model could not be read or written.
    #[error("model serialization failed: {0}")]
    Serde(#[from] serde_json::Error),
    /// A persisted model has a format version this library does not read.
    #[error("unsupported model format version {found} (this library reads version {supported})")]
    Version {
        /// Version found in the file.
        found: u32,
        /// Version this library writes and reads.
        supported: u32,
    },
    /// The labelled CSV could not be read.
    #[error(transparent)]
    Csv(#[from] CsvError),
}

/// Errors reading a labelled numeric CSV; each names the file and, where known, line and column.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The CSV structure is broken (ragged row, bad UTF-8, ...).
    #[error("{path}:{line}: malformed csv: {reason}")]
    Malformed {
        /// File.
        path: PathBuf,
        /// One-based line number (0 when unknown).
        line: u64,
        /// What the csv reader reported.
        reason: String,
    },
    /// The header row is missing.
    #[error("{path}: no header row")]
    NoHeader {
        /// File.
        path: PathBuf,
    },
    /// The label column named on the command line is not in the header.
    #[error("{path}: label column `{column}` not found in header (columns: {available})")]
    MissingLabelColumn {
        /// File.
        path: PathBuf,
        /// Requested column.
        column: String,
        /// Comma-separated header names.
        available: String,
    },
    /// A field is empty.
    #[error("{path}:{line}: missing value in column `{column}`")]
    MissingValue {
        /// File.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
    },
    /// A field is not a number (the value itself is not echoed: it may be sensitive).
    #[error("{path}:{line}: non-numeric value in column `{column}`")]
    NonNumeric {
        /// File.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
    },
    /// A field parses as NaN or infinity.
    #[error("{path}:{line}: non-finite value (NaN or infinite) in column `{column}`")]
    NonFinite {
        /// File.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
    },
    /// A label is not 0/1 (or false/true).
    #[error("{path}:{line}: label in column `{column}` must be 0 or 1")]
    BadLabel {
        /// File.
        path: PathBuf,
        /// One-based line number.
        line: u64,
        /// Column name.
        column: String,
    },
    /// No data rows.
    #[error("{path}: no data rows")]
    NoRows {
        /// File.
        path: PathBuf,
    },
    /// Only the label column, no features.
    #[error("{path}: no feature columns besides the label")]
    NoFeatures {
        /// File.
        path: PathBuf,
    },
}
