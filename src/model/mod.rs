//! The model: the data gpaudit reasons about (snapshots, envs, packages,
//! listings, history) and the pure functions over it. No I/O here, and no
//! imports from the modules that gather (`scan`, `prefix`, `reference`,
//! `admin`) or render: they all depend on the model, never the reverse.

mod history;
mod index;
mod listing;
mod merge;
mod names;
mod pth;
mod rebind;
mod snapshot;

pub use history::HistoryEntry;
pub use index::{EnvIndex, Provider};
pub use listing::{channel_name, Ecosystem, EnvFormat, EnvListing, EnvPackage};
pub use names::{
    conda_spec_options, extension_python, is_esri_service, major_minor, normalize_dist_name,
    DEFAULT_ENV,
};
pub use pth::{Editable, PthFile, PthLine, PthLineKind, PthOwner};
pub use rebind::{no_config_store_note, UNREAD_CONFIG_STORE};
pub use snapshot::*;
