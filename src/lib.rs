//! Vitrina: on-device personalization for online shops.
//!
//! The root modules are the **core**: plain Rust with no browser bindings, no IO,
//! no clock and no randomness of their own (time and random values are passed in).
//! They are tested natively and shared with the reference server, which decodes
//! with the same [`codec`] and ranks with the same code the browser runs.
//! `web` (wasm32 only) is the browser glue that converts and delegates.
#![deny(missing_docs)]

pub mod codec;
pub mod consent;
pub mod codec_json;
pub mod engine;
pub mod event;
pub mod i18n;
pub mod json;
pub mod ldp;
pub mod model;
pub mod profile;
pub mod rank;
pub mod recommend;

#[cfg(target_arch = "wasm32")]
pub mod web;

// The wasm build's allocator (compiled natively for its tests).
#[cfg(any(test, target_arch = "wasm32"))]
mod heap;
