//! Reading one conda environment folder (a prefix): its `conda-meta` records,
//! pip distributions, `pinned`, `history` and the modules site-packages
//! holds, into a [`crate::model::Env`]. Below `scan` (which reads whole
//! sites) and `reference` (which reads listings, a prefix among them); it
//! knows nothing of sites, services or checks.

pub mod cache;
mod env;
mod history;
pub mod modules;
pub(crate) mod pip;
pub mod pth;
pub(crate) mod records;

pub use env::{scan_env, scan_env_as, unread_env};
pub use history::parse_history;
