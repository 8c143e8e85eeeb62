//! The catalog's CSV import as the admin sees it: what a dry run found (every bad row with
//! its line and column, what would be created, changed and left alone) and how far an
//! apply has got.

use serde::{Deserialize, Serialize};

/// A file of at most this many rows is applied in one transaction.
pub const SINGLE_TRANSACTION_ROWS: usize = 10_000;
/// Above that, batches of about this many rows each commit on their own (a product's rows
/// are never split between two batches).
pub const BATCH_ROWS: usize = 1_000;
/// The most bad rows a report lists (the rest are counted).
pub const MAX_PROBLEMS: usize = 500;
/// The most products a report lists one by one (the rest are counted).
pub const MAX_LISTED: usize = 1_000;
/// The largest file the admin and the command line take.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

/// A row the import cannot take as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    /// The file's line on which the row starts (the header is line 1).
    pub line: u64,
    /// The column's header, or "" for the whole row.
    pub column: String,
    pub message: String,
}

impl RowProblem {
    pub fn new(line: u64, column: &str, message: impl Into<String>) -> Self {
        Self {
            line,
            column: column.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}, {}: {}", self.line, self.column, self.message)
        }
    }
}

/// What the import does with one product of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Create,
    Change,
    Unchanged,
    /// An earlier run of the same file wrote it: left as it is now.
    AlreadyImported,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Create => "New",
            Outcome::Change => "Changed",
            Outcome::Unchanged => "Unchanged",
            Outcome::AlreadyImported => "Imported before",
        }
    }
}

/// One product of the file and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedProduct {
    pub line: u64,
    pub handle: String,
    pub title: String,
    pub outcome: Outcome,
    /// What changes, in words ("price of LINEN-S: 19.90 → 21.00").
    pub changes: Vec<String>,
    pub variants: usize,
}

/// An image the file names that was not fetched: the merchant uploads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageToUpload {
    pub line: u64,
    pub handle: String,
    pub url: String,
    /// Why it was not fetched ("fetching is off", or what went wrong).
    pub reason: String,
}

/// What a dry run found, or what an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Data rows (the header is not counted).
    pub rows: usize,
    pub products: usize,
    pub variants: usize,
    pub created: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub already_imported: usize,
    /// Categories the file's `Type` names that do not exist yet (by their path).
    pub new_categories: Vec<String>,
    pub problems: Vec<RowProblem>,
    /// Bad rows beyond [`MAX_PROBLEMS`].
    pub more_problems: usize,
    pub planned: Vec<PlannedProduct>,
    /// Products beyond [`MAX_LISTED`].
    pub more_planned: usize,
    pub images_to_upload: Vec<ImageToUpload>,
    pub images_fetched: usize,
    /// Written, not a dry run.
    pub applied: bool,
    pub batches: usize,
}

impl ImportReport {
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty() || self.more_problems > 0
    }

    /// Adds a bad row, keeping at most [`MAX_PROBLEMS`].
    pub fn problem(&mut self, p: RowProblem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(p);
        } else {
            self.more_problems += 1;
        }
    }

    /// Counts a product's outcome and lists it (at most [`MAX_LISTED`]).
    pub fn plan(&mut self, p: PlannedProduct) {
        match p.outcome {
            Outcome::Create => self.created += 1,
            Outcome::Change => self.changed += 1,
            Outcome::Unchanged => self.unchanged += 1,
            Outcome::AlreadyImported => self.already_imported += 1,
        }
        if self.planned.len() < MAX_LISTED {
            self.planned.push(p);
        } else {
            self.more_planned += 1;
        }
    }

    /// The report's first sentence.
    pub fn summary(&self) -> String {
        let verb = if self.applied { "" } else { "would be " };
        format!(
            "{} rows, {} products: {} {verb}created, {} {verb}changed, {} unchanged{}.",
            self.rows,
            self.products,
            self.created,
            self.changed,
            self.unchanged,
            if self.already_imported > 0 {
                format!(
                    ", {} written by an earlier run of this file",
                    self.already_imported
                )
            } else {
                String::new()
            }
        )
    }
}

/// Where an import run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportState {
    /// Dry run done; waiting to be applied.
    Checked,
    Applying,
    Applied,
    Failed,
}

codes!(ImportState {
    Checked => "checked",
    Applying => "applying",
    Applied => "applied",
    Failed => "failed",
});

impl ImportState {
    pub fn label(self) -> &'static str {
        match self {
            ImportState::Checked => "Checked, not applied",
            ImportState::Applying => "Applying",
            ImportState::Applied => "Applied",
            ImportState::Failed => "Stopped",
        }
    }
}

/// An import run as its admin page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    pub id: i64,
    pub file_name: String,
    pub rows: usize,
    pub state: ImportState,
    pub fetch_images: bool,
    pub batches_total: u32,
    pub batches_done: u32,
    pub report: ImportReport,
    /// Why an apply stopped.
    pub error: String,
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_and_listing_are_capped_but_counted() {
        let mut r = ImportReport::default();
        for i in 0..(MAX_PROBLEMS + 3) {
            r.problem(RowProblem::new(i as u64 + 2, "Variant Price", "bad"));
        }
        assert_eq!(r.problems.len(), MAX_PROBLEMS);
        assert_eq!(r.more_problems, 3);
        assert!(r.has_problems());
        assert_eq!(
            r.problems[0].to_string(),
            "line 2, Variant Price: bad".to_owned()
        );
        assert_eq!(RowProblem::new(7, "", "x").to_string(), "line 7: x");
    }

    #[test]
    fn the_summary_tells_a_dry_run_from_an_apply() {
        let mut r = ImportReport {
            rows: 3,
            products: 2,
            ..Default::default()
        };
        for outcome in [Outcome::Create, Outcome::Unchanged] {
            r.plan(PlannedProduct {
                line: 2,
                handle: "a".into(),
                title: "A".into(),
                outcome,
                changes: vec![],
                variants: 1,
            });
        }
        assert_eq!(
            r.summary(),
            "3 rows, 2 products: 1 would be created, 0 would be changed, 1 unchanged."
        );
        r.applied = true;
        assert!(r.summary().contains("1 created, 0 changed"));
    }
}
