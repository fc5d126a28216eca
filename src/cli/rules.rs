//! `gpaudit rules`: every finding code with its default severity.

use gpaudit::rules::RuleBook;
use std::process::ExitCode;

pub fn run() -> anyhow::Result<ExitCode> {
    let book = RuleBook::builtin();
    for rule in book.iter() {
        super::common::out(&format!(
            "{:<28} {:<8} {}\n",
            rule.code.as_str(),
            rule.severity.as_str(),
            rule.title
        ));
    }
    Ok(ExitCode::SUCCESS)
}
