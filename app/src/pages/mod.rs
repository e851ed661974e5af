//! One module per page.

pub mod edit_ticket;
pub mod home;
pub mod new_ticket;
pub mod order;
pub mod orders;
pub mod signin;
pub mod signout;
pub mod signup;
pub mod ticket;

mod credentials;
