//! The local cluster's instances: supervised processes or containers on
//! loopback ports, which a restarted daemon adopts again.

mod adoption;
mod container;
mod env;
mod error;
mod fleet;
pub mod health;
mod instance;
mod layout;
mod ports;
mod proc_stat;
mod process;
mod status;
mod version_source;

pub use error::{FleetError, Unhealthy};
pub use fleet::{Fleet, FleetOptions};
pub use status::{Adopted, InstanceEvent, InstanceState, InstanceStatus};
