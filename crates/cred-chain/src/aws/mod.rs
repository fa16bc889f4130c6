//! AWS credentials, region and configuration.

mod os;

pub use os::{Env, Fs};
