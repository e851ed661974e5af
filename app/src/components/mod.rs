//! Pieces several pages share.

pub mod form;
pub mod header;
pub mod require_user;
pub mod status;
