pub mod payments;
