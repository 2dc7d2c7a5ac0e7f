//! The JS face (DESIGN.md §3). `component` (wasm only) forwards calls to the session and turns
//! its updates into the view's state and host events. The names and shapes JS sees (error
//! codes, events, the `.d.ts`) are platform-free, so their drift test runs natively.

pub mod error;
pub mod events;
pub mod keys;
pub mod smart_face;
mod types;

#[cfg(target_arch = "wasm32")]
mod audit;
#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod fhircast;
#[cfg(target_arch = "wasm32")]
mod iid;
#[cfg(target_arch = "wasm32")]
mod jpeg;
#[cfg(target_arch = "wasm32")]
mod options;
#[cfg(all(target_arch = "wasm32", feature = "viewer"))]
mod sign_in_window;
#[cfg(target_arch = "wasm32")]
mod smart_launch;
#[cfg(target_arch = "wasm32")]
mod subscriptions;
#[cfg(target_arch = "wasm32")]
mod upload;
#[cfg(all(target_arch = "wasm32", feature = "viewer"))]
mod viewer;
#[cfg(target_arch = "wasm32")]
mod window_listener;

#[cfg(target_arch = "wasm32")]
pub use component::EmrImagingComponent;

/// `N` bytes from the browser's CSPRNG (`crypto.getRandomValues`); `None` without one.
#[cfg(target_arch = "wasm32")]
fn crypto_random<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    web_sys::window()?.crypto().ok()?.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(bytes)
}
