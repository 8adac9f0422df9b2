//! Background loops that drive the world toward the store.
