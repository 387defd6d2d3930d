//! [`RetainingAllocator`]: a global allocator that keeps a few freed large
//! blocks for the next allocation of the same size.
//!
//! Host code that calls a ufunc in a loop (`for i in 0..10 { let y = wave(&x); … }`)
//! frees an 80 MB result and asks for another of the same size at once. The
//! system allocator hands such a block back to the operating system (`munmap`)
//! and takes a fresh one (`mmap`), whose every page faults and is zeroed by the
//! kernel on first write: about a fifth of the CPU time of a transcendental
//! ufunc over 10⁷ f64 (BENCHMARKS.md). Keeping the freed block and handing it to
//! the next request of the same layout skips all of that.
//!
//! The policy, chosen so that keeping memory never costs memory:
//! - only blocks of at least [`MIN_BYTES`] are kept, at most [`SLOTS`] of them;
//! - a request of that size that no kept block matches exactly (size and
//!   alignment) releases every kept block before it asks the system, so the
//!   process's peak memory is never higher than without this allocator when
//!   large blocks dominate; small allocations go straight to the system;
//! - zeroed requests (`alloc_zeroed`) get the system's fresh zero pages and
//!   release the kept blocks too, and `realloc` is the system's.
//!
//! A kept block holds stale bytes: it is handed out only by `alloc`, whose
//! memory is uninitialised by contract, so no safe code can tell.
//!
//! The `kern` command line installs it; a Rust program can install it with
//! `#[global_allocator] static A: kern::RetainingAllocator = kern::RetainingAllocator::new();`.
//! This module knows nothing of arrays, dtypes or kern's other allocations.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::{Mutex, MutexGuard};

/// Blocks from this size on are kept (the size from which array buffers get the
/// huge-page advice in `alloc`).
pub const MIN_BYTES: usize = 4 << 20;
/// At most this many blocks are kept.
pub const SLOTS: usize = 4;

/// A freed block waiting for a request of exactly its layout.
#[derive(Clone, Copy)]
struct Kept {
    ptr: *mut u8,
    layout: Layout,
}

// SAFETY: a kept block is owned by the allocator alone until it is handed out.
unsafe impl Send for Kept {}

/// The system allocator, keeping up to [`SLOTS`] freed blocks of at least
/// [`MIN_BYTES`] for reuse (see the module documentation for the policy).
pub struct RetainingAllocator {
    kept: Mutex<[Option<Kept>; SLOTS]>,
}

impl RetainingAllocator {
    pub const fn new() -> RetainingAllocator {
        RetainingAllocator {
            kept: Mutex::new([None; SLOTS]),
        }
    }

    fn slots(&self) -> MutexGuard<'_, [Option<Kept>; SLOTS]> {
        // Nothing that holds the lock can panic; a poisoned lock is still sound.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A kept block of exactly `layout`, or `None` after releasing every kept
    /// block to the system.
    fn take(&self, layout: Layout) -> Option<*mut u8> {
        let mut slots = self.slots();
        if let Some(slot) = slots
            .iter_mut()
            .find(|s| s.is_some_and(|k| k.layout == layout))
        {
            return slot.take().map(|k| k.ptr);
        }
        for k in slots.iter_mut().filter_map(Option::take) {
            // SAFETY: `k` came from `System` with this layout and is no longer kept.
            unsafe { System.dealloc(k.ptr, k.layout) };
        }
        None
    }

    /// Releases every kept block.
    fn release_all(&self) {
        for k in self.slots().iter_mut().filter_map(Option::take) {
            // SAFETY: as in `take`.
            unsafe { System.dealloc(k.ptr, k.layout) };
        }
    }

    /// Keeps `ptr` if a slot is free; `false` when the caller must free it.
    fn keep(&self, ptr: *mut u8, layout: Layout) -> bool {
        let mut slots = self.slots();
        match slots.iter_mut().find(|s| s.is_none()) {
            Some(slot) => {
                *slot = Some(Kept { ptr, layout });
                true
            }
            None => false,
        }
    }

    /// How many blocks are kept now.
    #[cfg(test)]
    fn kept_blocks(&self) -> usize {
        self.slots().iter().filter(|s| s.is_some()).count()
    }
}

impl Default for RetainingAllocator {
    fn default() -> Self {
        RetainingAllocator::new()
    }
}

// SAFETY: every block handed out is a live `System` block of the requested
// layout (a kept block was allocated by `System` with exactly that layout and
// is handed out once); every block freed goes back to `System` with its layout,
// now or when it leaves the cache.
unsafe impl GlobalAlloc for RetainingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BYTES {
            if let Some(ptr) = self.take(layout) {
                return ptr;
            }
        }
        // SAFETY: the caller's contract for `alloc`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= MIN_BYTES {
            self.release_all();
        }
        // SAFETY: the caller's contract for `alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= MIN_BYTES && self.keep(ptr, layout) {
            return;
        }
        // SAFETY: `ptr` was allocated by `System` with `layout` (see above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a live `System` block of `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: usize = 16 << 20;

    fn layout(bytes: usize) -> Layout {
        Layout::from_size_align(bytes, 64).unwrap()
    }

    #[cfg(target_os = "linux")]
    /// Minor page faults of this thread so far.
    fn minor_faults() -> i64 {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: `getrusage` fills the struct it is given.
        unsafe {
            libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr());
            usage.assume_init().ru_minflt
        }
    }

    #[cfg(target_os = "linux")]
    /// Allocates `bytes`, writes every byte, frees it; returns the page faults.
    fn fill_and_free(a: &RetainingAllocator, bytes: usize) -> i64 {
        let before = minor_faults();
        // SAFETY: a non-zero layout; the block is written within bounds and freed once.
        unsafe {
            let p = a.alloc(layout(bytes));
            assert!(!p.is_null());
            std::ptr::write_bytes(p, 7, bytes);
            a.dealloc(p, layout(bytes));
        }
        minor_faults() - before
    }

    #[test]
    fn a_freed_large_block_serves_the_next_request_of_its_layout() {
        let a = RetainingAllocator::new();
        // SAFETY: layouts are non-zero; each block is freed once with its layout.
        unsafe {
            let p = a.alloc(layout(BIG));
            a.dealloc(p, layout(BIG));
            assert_eq!(a.kept_blocks(), 1);
            let q = a.alloc(layout(BIG));
            assert_eq!(p, q, "the kept block is handed out again");
            assert_eq!(a.kept_blocks(), 0);
            a.dealloc(q, layout(BIG));
        }
        a.release_all();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reusing_a_block_touches_no_fresh_pages() {
        let a = RetainingAllocator::new();
        let first = fill_and_free(&a, BIG);
        let again = fill_and_free(&a, BIG);
        // The first fill faults once per page (or per huge page); the second
        // writes pages that are already there.
        assert!(first > 0, "a fresh block faults ({first})");
        assert!(
            again * 4 < first.max(4),
            "reuse faulted {again} times, fresh {first}"
        );
        a.release_all();
    }

    #[test]
    fn a_request_of_another_size_releases_what_is_kept() {
        let a = RetainingAllocator::new();
        // SAFETY: as above.
        unsafe {
            let p = a.alloc(layout(BIG));
            a.dealloc(p, layout(BIG));
            let q = a.alloc(layout(BIG + 4096));
            assert_eq!(a.kept_blocks(), 0, "nothing is kept across a miss");
            a.dealloc(q, layout(BIG + 4096));
            let z = a.alloc_zeroed(layout(BIG + 4096));
            assert_eq!(a.kept_blocks(), 0, "a zeroed request does not reuse");
            assert!(std::slice::from_raw_parts(z, BIG + 4096)
                .iter()
                .all(|&b| b == 0));
            a.dealloc(z, layout(BIG + 4096));
        }
        a.release_all();
    }

    #[test]
    fn small_blocks_and_a_full_cache_go_to_the_system() {
        let a = RetainingAllocator::new();
        // SAFETY: as above.
        unsafe {
            let small = a.alloc(layout(MIN_BYTES - 1));
            a.dealloc(small, layout(MIN_BYTES - 1));
            assert_eq!(a.kept_blocks(), 0);
            let blocks: Vec<*mut u8> = (0..SLOTS + 2).map(|_| a.alloc(layout(BIG))).collect();
            for p in blocks {
                a.dealloc(p, layout(BIG));
            }
            assert_eq!(a.kept_blocks(), SLOTS);
        }
        a.release_all();
        assert_eq!(a.kept_blocks(), 0);
    }
}
