//! One module per page.

pub mod home;
pub mod signin;
pub mod signout;
pub mod signup;

mod credentials;
