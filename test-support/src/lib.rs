//! Test support shared by the emulator's unit tests (a dev-dependency of
//! `emulator`) and the end-to-end tests (`tests`). It does not depend on
//! the emulator, so both can use it.
//!
//! - [`wait_until`]: a condition polled until a deadline, with a panic that
//!   names what was awaited and the last value seen.
//! - [`Backend`]: an HTTP/1 target on a loopback address, answering with a
//!   handler until dropped.
//! - [`target`]: the answers of the targets the data-plane tests proxy to
//!   (headers, echo, slow, upgrade).
//! - [`ports`]: ports handed over instead of bound, dropped and reused.

mod backend;
pub mod ports;
pub mod target;
mod wait;

pub use backend::{text, Backend, BoxBody};
pub use wait::{wait_until, Outcome};
