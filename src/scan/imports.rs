//! Reading a Python script's imports with a real parser (Ruff's,
//! `ruff_python_parser`): `import a.b`, `from a import b`, relative
//! imports, imports inside functions or `try: ... except ImportError`, and
//! `importlib.import_module("literal")` / `__import__("literal")`. A script
//! that does not parse as Python 3 is reported as such (old ArcMap services
//! are Python 2). Pure: text in, imports out.

use crate::model::ScriptImport;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{ExceptHandler, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

/// CPython refuses more than 200 nested brackets and 100 indentation levels
/// (Parser/tokenizer.c MAXLEVEL, MAXINDENT); so does gpaudit, which keeps the
/// parser and the AST walk within their stacks.
const MAX_BRACKETS: usize = 200;
const MAX_INDENT_COLUMNS: usize = 400;

/// A script's imports, or why they could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Script {
    Imports(Vec<ScriptImport>),
    /// Not Python 3: the parser's message with its line.
    NotPython3 {
        line: usize,
        message: String,
    },
    /// Could not be parsed for another reason (nesting past CPython's limits).
    Refused(String),
}

/// The stack the parse, the walk and the AST's drop run on. Ruff's parser
/// grows its own stack, but walking and dropping an expression 100,000
/// operators deep (`not not ... x`) recurse as deep; on a rayon thread's
/// 2 MB stack that would abort the process. 256 MB of address space is only
/// committed as far as it is used.
const PARSE_STACK: usize = 256 * 1024 * 1024;

thread_local! {
    /// Set on the threads of [`parse_pool`], whose stacks are already big.
    static ON_BIG_STACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A thread pool whose threads have [`PARSE_STACK`]-sized stacks, made
/// once: growing a fresh stack for every script costs more than parsing it.
/// `None` if the threads could not be made.
pub fn parse_pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(PARSE_STACK)
            .thread_name(|i| format!("gpaudit-parse-{i}"))
            .start_handler(|_| ON_BIG_STACK.with(|b| b.set(true)))
            .build()
            .ok()
    })
    .as_ref()
}

/// Read the imports of `source`. Safe on any thread: off the parse pool,
/// the work runs on a stack grown for it.
pub fn read_imports(source: &str) -> Script {
    read_imports_as(source, false)
}

/// Read the imports of a Python toolbox (`.pyt`): a tool's `execute()`
/// runs on every request, so the imports in it are required, not optional
/// like those in other functions.
pub fn read_toolbox_imports(source: &str) -> Script {
    read_imports_as(source, true)
}

fn read_imports_as(source: &str, toolbox: bool) -> Script {
    if let Some(why) = too_deep(source) {
        return Script::Refused(why);
    }
    if ON_BIG_STACK.with(|b| b.get()) {
        parse_imports(source, toolbox)
    } else {
        stacker::grow(PARSE_STACK, || parse_imports(source, toolbox))
    }
}

fn parse_imports(source: &str, toolbox: bool) -> Script {
    let lines = LineIndex::new(source);
    match ruff_python_parser::parse_module(source) {
        Err(e) => Script::NotPython3 {
            line: lines.line(e.location.start()),
            message: e.error.to_string(),
        },
        Ok(parsed) => {
            let mut walker = ImportWalker {
                lines: &lines,
                optional: 0,
                toolbox,
                imports: Vec::new(),
            };
            walker.visit_body(&parsed.syntax().body);
            let mut imports = walker.imports;
            imports.sort_by(|a, b| (a.line, &a.module).cmp(&(b.line, &b.module)));
            imports.dedup();
            Script::Imports(imports)
        }
    }
}

fn too_deep(source: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut max = 0usize;
    for b in source.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if max > MAX_BRACKETS {
        return Some(format!(
            "brackets nest {max} deep; Python itself stops at {MAX_BRACKETS}"
        ));
    }
    let indent = source
        .lines()
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .max()
        .unwrap_or(0);
    (indent > MAX_INDENT_COLUMNS)
        .then(|| format!("a line is indented {indent} columns; Python stops at 100 levels"))
}

/// Byte offset → 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(source: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, offset: TextSize) -> usize {
        let offset = u32::from(offset) as usize;
        self.starts.partition_point(|s| *s <= offset).max(1)
    }
}

struct ImportWalker<'a> {
    lines: &'a LineIndex,
    /// Inside a function body or a `try` that catches ImportError: the
    /// import may never run, or its failure is handled.
    optional: usize,
    /// A `.pyt`: its tools' `execute()` bodies are not optional.
    toolbox: bool,
    imports: Vec<ScriptImport>,
}

impl ImportWalker<'_> {
    fn add(&mut self, module: &str, at: TextSize, dynamic: bool) {
        if module.is_empty() {
            return;
        }
        self.imports.push(ScriptImport {
            module: module.to_string(),
            line: self.lines.line(at),
            optional: self.optional > 0,
            dynamic,
        });
    }
}

/// Whether an `except` clause catches a failed import.
fn catches_import_error(handler: &ExceptHandler) -> bool {
    let ExceptHandler::ExceptHandler(h) = handler;
    let Some(kind) = &h.type_ else {
        return true; // bare `except:`
    };
    let names: Vec<&Expr> = match kind.as_ref() {
        Expr::Tuple(t) => t.elts.iter().collect(),
        e => vec![e],
    };
    names.iter().any(|e| match e {
        Expr::Name(n) => matches!(
            n.id.as_str(),
            "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"
        ),
        _ => false,
    })
}

/// Whether an `if` test is a typing or version/platform guard.
fn is_guard(test: &Expr) -> bool {
    match test {
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => matches!(
            a.attr.as_str(),
            "TYPE_CHECKING" | "version_info" | "platform"
        ),
        Expr::Compare(c) => is_guard(&c.left) || c.comparators.iter().any(is_guard),
        Expr::Subscript(s) => is_guard(&s.value),
        Expr::BoolOp(b) => b.values.iter().any(is_guard),
        Expr::UnaryOp(u) => is_guard(&u.operand),
        _ => false,
    }
}

impl<'a> Visitor<'a> for ImportWalker<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(node) => {
                for alias in &node.names {
                    self.add(alias.name.as_str(), node.range.start(), false);
                }
            }
            // Relative imports name the service's own files, never the env.
            Stmt::ImportFrom(node) => {
                if node.level == 0 {
                    if let Some(module) = &node.module {
                        self.add(module.as_str(), node.range.start(), false);
                    }
                }
            }
            // A toolbox tool's `execute()` runs on every request.
            Stmt::ClassDef(node) if self.toolbox => {
                for d in &node.decorator_list {
                    self.visit_decorator(d);
                }
                if let Some(args) = &node.arguments {
                    self.visit_arguments(args);
                }
                for s in &node.body {
                    match s {
                        Stmt::FunctionDef(f) if f.name.as_str() == "execute" => {
                            for d in &f.decorator_list {
                                self.visit_decorator(d);
                            }
                            self.visit_body(&f.body);
                        }
                        _ => self.visit_stmt(s),
                    }
                }
            }
            Stmt::FunctionDef(node) => {
                for d in &node.decorator_list {
                    self.visit_decorator(d);
                }
                self.optional += 1;
                self.visit_body(&node.body);
                self.optional -= 1;
            }
            Stmt::Try(node) => {
                let handled = node.handlers.iter().any(catches_import_error);
                self.optional += usize::from(handled);
                self.visit_body(&node.body);
                self.optional -= usize::from(handled);
                for h in &node.handlers {
                    self.visit_except_handler(h);
                }
                self.visit_body(&node.orelse);
                self.visit_body(&node.finalbody);
            }
            // `if TYPE_CHECKING:` and `if sys.version_info ...:` /
            // `if sys.platform ...:` guard imports that may never run.
            Stmt::If(node) if is_guard(&node.test) => {
                self.visit_expr(&node.test);
                self.optional += 1;
                self.visit_body(&node.body);
                for clause in &node.elif_else_clauses {
                    self.visit_elif_else_clause(clause);
                }
                self.optional -= 1;
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            let dynamic = match call.func.as_ref() {
                Expr::Attribute(a) => {
                    a.attr.as_str() == "import_module"
                        && matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "importlib")
                }
                Expr::Name(n) => matches!(n.id.as_str(), "import_module" | "__import__"),
                _ => false,
            };
            if dynamic {
                if let Some(Expr::StringLiteral(s)) = call.arguments.args.first() {
                    let module = s.value.to_str();
                    // `import_module(".x", package)` is relative: the service's own.
                    if !module.starts_with('.') {
                        let module = module.to_string();
                        self.add(&module, call.range().start(), true);
                    }
                }
            }
        }
        visitor::walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imports(src: &str) -> Vec<String> {
        match read_imports(src) {
            Script::Imports(i) => i
                .iter()
                .map(|i| {
                    format!(
                        "{}:{}{}{}",
                        i.line,
                        i.module,
                        if i.optional { " optional" } else { "" },
                        if i.dynamic { " dynamic" } else { "" }
                    )
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn issue_13_item_16_imports_in_a_pyt_tools_execute_are_required() {
        let src = "\
import arcpy

class Tool:
    def getParameterInfo(self):
        import helpers_ui
        return []

    def execute(self, parameters, messages):
        import rasterstats
        def inner():
            import lazy_thing
        return None
";
        let read = |s: Script| match s {
            Script::Imports(i) => i
                .iter()
                .map(|i| {
                    format!(
                        "{}:{}",
                        i.module,
                        if i.optional { "optional" } else { "required" }
                    )
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            read(read_toolbox_imports(src)),
            [
                "arcpy:required",
                "helpers_ui:optional",
                "rasterstats:required",
                "lazy_thing:optional"
            ]
        );
        // In a plain script, a method's imports stay optional.
        assert_eq!(read(read_imports(src))[2], "rasterstats:optional");
    }

    #[test]
    fn every_kind_of_import() {
        let src = "\
import arcpy, os.path as p
from rasterio.warp import reproject
from . import helpers
from .util import x

def run():
    import scipy.ndimage

try:
    import xgboost
except ImportError:
    xgboost = None

try:
    import fiona
finally:
    pass

mod = importlib.import_module(\"sklearn.cluster\")
name = 'x'
other = importlib.import_module(name)
legacy = __import__('imp')
";
        assert_eq!(
            imports(src),
            [
                "1:arcpy",
                "1:os.path",
                "2:rasterio.warp",
                "7:scipy.ndimage optional",
                "10:xgboost optional",
                "15:fiona",
                "19:sklearn.cluster dynamic",
                "22:imp dynamic",
            ]
        );
    }

    #[test]
    fn python2_is_reported_with_its_line() {
        let src = "import arcpy\n\nprint \"done\"\n";
        match read_imports(src) {
            Script::NotPython3 { line, .. } => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read_imports("import os\nexec \"x = 1\"\n"),
            Script::NotPython3 { line: 2, .. }
        ));
    }

    #[test]
    fn guarded_imports_are_optional() {
        let src = "import sys\nif TYPE_CHECKING:\n    import typing_extensions\nif sys.version_info[0] < 3:\n    import ConfigParser\nelse:\n    import configparser\n";
        assert_eq!(
            imports(src),
            [
                "1:sys",
                "3:typing_extensions optional",
                "5:ConfigParser optional",
                "7:configparser optional"
            ]
        );
    }

    #[test]
    fn regression_deep_operator_chains_do_not_overflow_the_stack() {
        // 100,000 unary operators: Python refuses these; gpaudit must not crash.
        let src = format!("x = {}1\n", "not ".repeat(100_000));
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                matches!(
                    read_imports(&src),
                    Script::Imports(_) | Script::NotPython3 { .. }
                )
            })
            .unwrap();
        assert!(handle.join().unwrap());
        let src = format!("x = (1{})\n", "\n + 1".repeat(100_000));
        let handle = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || !matches!(read_imports(&src), Script::Refused(_)))
            .unwrap();
        assert!(handle.join().unwrap());
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches!(read_imports(&deep), Script::Refused(_)));
        let indented: String = (0..150)
            .map(|i| format!("{}if x:\n", " ".repeat(i * 4)))
            .collect();
        assert!(matches!(read_imports(&indented), Script::Refused(_)));
        // Within Python's own limits it parses.
        let ok = format!("x = {}1{}\n", "(".repeat(150), ")".repeat(150));
        assert!(matches!(read_imports(&ok), Script::Imports(_)));
    }
}
