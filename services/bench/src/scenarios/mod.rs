//! One module per scenario. Each measures the system (the propagation scenario, a stack of
//! its own) and returns its rows of the report; `main` runs them in turn.

pub mod api_list;
pub mod bundle;
pub mod expiry;
pub mod home_page;
pub mod memory;
pub mod propagation;
pub mod purchase_race;
pub mod telemetry;
