//! An env's dependency graph (petgraph): packages as nodes, `depends` as
//! edges carrying the spec. Answers "who pulls this in" (`why`), "what is
//! affected if this changes" (`dependents`) and renders Graphviz. Walks are
//! cycle-safe: conda envs do contain dependency cycles.

use crate::checks::{parse_spec, spec_name};
use crate::model::{Env, Machine};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Bfs, EdgeRef, Reversed};
use petgraph::Direction;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write;

/// A node: an installed package.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    pub version: String,
}

/// The dependency graph of one env.
#[derive(Debug)]
pub struct DepGraph {
    pub graph: DiGraph<Node, String>,
    index: HashMap<String, NodeIndex>,
}

impl DepGraph {
    pub fn build(env: &Env) -> DepGraph {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        for p in &env.packages {
            let n = graph.add_node(Node {
                name: p.name().to_string(),
                version: p.record.version.as_str().to_string(),
            });
            index.insert(p.name().to_string(), n);
        }
        for p in &env.packages {
            let from = index[p.name()];
            for dep in &p.record.depends {
                let Ok(spec) = parse_spec(dep) else { continue };
                if let Some(to) = spec_name(&spec).and_then(|n| index.get(n)) {
                    graph.add_edge(from, *to, dep.clone());
                }
            }
        }
        DepGraph { graph, index }
    }

    pub fn node(&self, name: &str) -> Option<NodeIndex> {
        self.index.get(&name.to_lowercase()).copied()
    }

    fn label(&self, n: NodeIndex) -> String {
        let node = &self.graph[n];
        format!("{} {}", node.name, node.version)
    }

    /// Who pulls `name` in, as edges (dependent, dependency, spec) up to
    /// `depth` levels above it, sorted; at most `limit` edges.
    pub fn why_edges(
        &self,
        name: &str,
        depth: usize,
        limit: usize,
    ) -> Vec<(String, String, String)> {
        let Some(start) = self.node(name) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut level = vec![start];
        let mut seen: HashSet<NodeIndex> = HashSet::from([start]);
        for _ in 0..depth {
            let mut next = Vec::new();
            for &n in &level {
                let mut parents: Vec<_> = self
                    .graph
                    .edges_directed(n, Direction::Incoming)
                    .map(|e| {
                        (
                            self.graph[e.source()].name.clone(),
                            e.source(),
                            e.weight().clone(),
                        )
                    })
                    .collect();
                parents.sort();
                for (pname, p, spec) in parents {
                    if out.len() >= limit {
                        return out;
                    }
                    out.push((pname, self.graph[n].name.clone(), spec));
                    if seen.insert(p) {
                        next.push(p);
                    }
                }
            }
            level = next;
        }
        out
    }

    /// Packages nothing else depends on: what the env was built from.
    pub fn top_level(&self) -> Vec<String> {
        let mut tops: Vec<String> = self
            .graph
            .node_indices()
            .filter(|n| {
                self.graph
                    .neighbors_directed(*n, Direction::Incoming)
                    .next()
                    .is_none()
            })
            .map(|n| self.graph[n].name.clone())
            .collect();
        tops.sort();
        tops
    }

    /// Who pulls `name` in, as a tree up to the top-level packages. A package
    /// already shown is marked `(*)` instead of repeated; a cycle `(cycle)`.
    pub fn why(&self, name: &str) -> Option<String> {
        let start = self.node(name)?;
        let mut out = format!("{}\n", self.label(start));
        let mut shown = HashSet::new();
        let mut path = vec![start];
        self.why_rec(start, "", &mut path, &mut shown, &mut out);
        Some(out)
    }

    fn why_rec(
        &self,
        node: NodeIndex,
        prefix: &str,
        path: &mut Vec<NodeIndex>,
        shown: &mut HashSet<NodeIndex>,
        out: &mut String,
    ) {
        let mut parents: Vec<(String, NodeIndex, String)> = self
            .graph
            .edges_directed(node, Direction::Incoming)
            .map(|e| {
                (
                    self.graph[e.source()].name.clone(),
                    e.source(),
                    e.weight().clone(),
                )
            })
            .collect();
        parents.sort();
        parents.dedup_by(|a, b| a.1 == b.1);
        let count = parents.len();
        for (i, (_, parent, spec)) in parents.into_iter().enumerate() {
            let last = i + 1 == count;
            let (branch, indent) = if last {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            let mut line = format!("{prefix}{branch}{} (requires {spec})", self.label(parent));
            if path.contains(&parent) {
                line.push_str(" (cycle)");
                let _ = writeln!(out, "{line}");
                continue;
            }
            if !shown.insert(parent) {
                line.push_str(" (*)");
                let _ = writeln!(out, "{line}");
                continue;
            }
            let _ = writeln!(out, "{line}");
            path.push(parent);
            self.why_rec(parent, &format!("{prefix}{indent}"), path, shown, out);
            path.pop();
        }
    }

    /// Every package that depends on `name`, directly or not.
    pub fn dependents(&self, name: &str) -> Option<Vec<String>> {
        let start = self.node(name)?;
        let reversed = Reversed(&self.graph);
        let mut bfs = Bfs::new(reversed, start);
        let mut found = BTreeSet::new();
        while let Some(n) = bfs.next(reversed) {
            if n != start {
                found.insert(self.label(n));
            }
        }
        Some(found.into_iter().collect())
    }

    /// Graphviz DOT, nodes and edges sorted for stable output.
    pub fn to_dot(&self, env_name: &str) -> String {
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = format!(
            "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box];\n",
            quote(env_name)
        );
        let mut nodes: Vec<NodeIndex> = self.graph.node_indices().collect();
        nodes.sort_by(|a, b| self.graph[*a].name.cmp(&self.graph[*b].name));
        for n in &nodes {
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}\"];",
                quote(&self.graph[*n].name),
                quote(&self.label(*n))
            );
        }
        let mut edges: Vec<(String, String, String)> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    self.graph[e.source()].name.clone(),
                    self.graph[e.target()].name.clone(),
                    e.weight().clone(),
                )
            })
            .collect();
        edges.sort();
        for (from, to, spec) in edges {
            let _ = writeln!(
                out,
                "  \"{}\" -> \"{}\" [label=\"{}\"];",
                quote(&from),
                quote(&to),
                quote(&spec)
            );
        }
        out.push_str("}\n");
        out
    }
}

/// What `gpaudit graph` is asked about an env.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// The summary: counts and top-level packages.
    Summary,
    /// Who pulls a package in.
    Why(String),
    /// Everything affected if a package changed, and the env's services.
    Dependents(String),
    /// The whole graph as Graphviz DOT.
    Dot,
}

/// A package the query names is not in the env.
#[derive(Debug, thiserror::Error)]
#[error("`{package}` is not installed in env `{env}` on {machine}")]
pub struct NotInstalled {
    pub package: String,
    pub env: String,
    pub machine: String,
}

/// Answer a query about `env` on `machine` as text.
pub fn answer(machine: &Machine, env: &Env, query: &Query) -> Result<String, NotInstalled> {
    let graph = DepGraph::build(env);
    let missing = |package: &str| NotInstalled {
        package: package.to_string(),
        env: env.name.clone(),
        machine: machine.name.clone(),
    };
    Ok(match query {
        Query::Dot => graph.to_dot(&env.name),
        Query::Why(package) => graph.why(package).ok_or_else(|| missing(package))?,
        Query::Dependents(package) => {
            let deps = graph.dependents(package).ok_or_else(|| missing(package))?;
            let mut out = format!(
                "{} package(s) in env `{}` on {} depend on {package}:\n",
                deps.len(),
                env.name,
                machine.name
            );
            for d in deps {
                let _ = writeln!(out, "  {d}");
            }
            let services = machine.services_in(&env.path);
            let _ = writeln!(
                out,
                "{} GP service(s) run in this env on {}:",
                services.len(),
                machine.name
            );
            for s in services {
                let _ = writeln!(out, "  {s}");
            }
            out
        }
        Query::Summary => format!(
            "env `{}` on {}: {} packages, {} dependency edges; top-level packages:\n  {}\n",
            env.name,
            machine.name,
            graph.graph.node_count(),
            graph.graph.edge_count(),
            graph.top_level().join("\n  ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;

    fn sample() -> DepGraph {
        DepGraph::build(&env_with(
            "x",
            vec![
                pkg(
                    "arcgis",
                    "2.1.0",
                    "py39_0",
                    &["pandas >=1.3", "numpy >=1.16"],
                ),
                pkg(
                    "pandas",
                    "1.4.4",
                    "py39_0",
                    &["numpy >=1.18.5", "python >=3.9"],
                ),
                pkg("numpy", "1.20.1", "py39_0", &["python >=3.9"]),
                pkg("python", "3.9.16", "h_0", &["pip"]),
                pkg("pip", "22.3.1", "py39_0", &["python >=3.9"]),
            ],
        ))
    }

    #[test]
    fn why_walks_up_to_top_level_and_survives_cycles() {
        let g = sample();
        let tree = g.why("numpy").unwrap();
        assert_eq!(
            tree,
            "numpy 1.20.1\n├── arcgis 2.1.0 (requires numpy >=1.16)\n└── pandas 1.4.4 (requires numpy >=1.18.5)\n    └── arcgis 2.1.0 (requires pandas >=1.3) (*)\n"
        );
        let tree = g.why("python").unwrap();
        assert!(tree.contains("(cycle)"), "{tree}");
        assert_eq!(g.top_level(), vec!["arcgis"]);
    }

    #[test]
    fn dependents_are_transitive() {
        let g = sample();
        assert_eq!(
            g.dependents("numpy").unwrap(),
            vec!["arcgis 2.1.0", "pandas 1.4.4"]
        );
        let all = g.dependents("python").unwrap();
        assert_eq!(all.len(), 4, "{all:?}");
        assert!(g.dependents("nope").is_none());
    }

    #[test]
    fn dot_is_sorted_and_quoted() {
        let dot = sample().to_dot("x");
        assert!(dot.starts_with("digraph \"x\" {"));
        assert!(dot.contains("\"pandas\" -> \"numpy\" [label=\"numpy >=1.18.5\"];"));
    }
}
