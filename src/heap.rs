//! The wasm heap: a size-class allocator of a few hundred bytes of code instead
//! of the standard library's dlmalloc (about 4 KB of wasm).
//!
//! Every block is a power of two of at least 8 bytes, placed at an address that
//! is a multiple of its size (up to a 64 KiB page). A freed block goes on the
//! free list of its size and is the next block of that size handed out; new
//! blocks are cut from the end of the heap, which grows by whole pages. There is
//! no splitting or coalescing, so the heap never exceeds, per size, the most
//! blocks of that size that were ever in use at once: a page that runs for hours
//! and records events, builds and frees batches, reuses the same blocks instead
//! of growing (see the tests here and the long-session test in `web/tests.rs`).
//! The price is up to half of a block unused (sizes round up to a power of two)
//! and memory freed in one size not serving another; for this engine's heap of
//! a few hundred KB that is fine.
//!
//! The gap that aligning the end of the heap for a larger block leaves is not
//! lost: it is cut into naturally aligned smaller blocks and freed.

use core::ptr::null_mut;

/// Memory grows by pages of this many bytes.
pub const PAGE: usize = 65536;
/// Size classes: log2 of the block size, 3 (8 bytes) to 31 (2 GiB).
const CLASSES: usize = 32;

/// The allocator's state (addresses, 0 for none).
pub struct Heap {
    /// Per class, the first free block; a free block holds the address of the next.
    free: [usize; CLASSES],
    /// Where the next new block is cut, and the end of the memory the heap owns.
    top: usize,
    end: usize,
}

/// The class of a request: log2 of the smallest power of two that is at least
/// `size`, `align` and 8; `None` beyond 2 GiB.
fn class(size: usize, align: usize) -> Option<usize> {
    let s = size.max(align).max(8);
    let k = (usize::BITS - (s - 1).leading_zeros()) as usize;
    (k < CLASSES).then_some(k)
}

impl Heap {
    /// An empty heap (it takes memory on the first allocation).
    pub const fn new() -> Heap {
        Heap { free: [0; CLASSES], top: 0, end: 0 }
    }

    /// A block for `size` bytes aligned to `align` (a power of two), or null.
    /// `grow(pages)` adds `pages` pages of memory and returns the address of the
    /// first, or `None` when there is no more.
    ///
    /// # Safety
    /// The memory `grow` returns must be writable and owned by this heap from
    /// then on, and its addresses multiples of [`PAGE`].
    pub unsafe fn alloc(&mut self, size: usize, align: usize, mut grow: impl FnMut(usize) -> Option<usize>) -> *mut u8 {
        let Some(k) = class(size, align) else { return null_mut() };
        let head = self.free[k];
        if head != 0 {
            // SAFETY: a free block holds the address of the next one.
            self.free[k] = unsafe { *(head as *const usize) };
            return head as *mut u8;
        }
        let size = 1usize << k;
        let a = size.min(PAGE);
        if align > a {
            return null_mut();
        }
        loop {
            // Align the top to the block size, freeing the gap as smaller blocks
            // (each aligned to its size; the gap ends before `end`, a page multiple).
            while self.top & (a - 1) != 0 {
                let b = self.top & self.top.wrapping_neg();
                // SAFETY: [top, top + b) is unused memory of the heap.
                unsafe { self.push(b.trailing_zeros() as usize, self.top) };
                self.top += b;
            }
            if self.end - self.top >= size {
                let p = self.top;
                self.top += size;
                return p as *mut u8;
            }
            let pages = size.div_ceil(PAGE);
            let Some(start) = grow(pages) else { return null_mut() };
            if start != self.end {
                // Not contiguous (someone else grew the memory): start afresh there.
                self.top = start;
            }
            self.end = start + pages * PAGE;
        }
    }

    /// Frees a block `alloc` returned for the same `size` and `align`.
    ///
    /// # Safety
    /// `p` must come from `alloc` with this size and alignment, and not be used again.
    pub unsafe fn dealloc(&mut self, p: *mut u8, size: usize, align: usize) {
        if let Some(k) = class(size, align) {
            // SAFETY: the block is at least 8 bytes, aligned to 8, and now unused.
            unsafe { self.push(k, p as usize) };
        }
    }

    /// Whether a block for `old` bytes also holds `new` bytes (same class).
    pub fn fits(old: usize, new: usize, align: usize) -> bool {
        class(old, align) == class(new, align)
    }

    unsafe fn push(&mut self, k: usize, addr: usize) {
        // SAFETY: the caller gives an unused block of class k.
        unsafe { *(addr as *mut usize) = self.free[k] };
        self.free[k] = addr;
    }

    /// Bytes taken from the memory so far (the heap's high-water mark).
    #[cfg(test)]
    pub fn taken(&self, base: usize) -> usize {
        self.top - base
    }
}

/// The global allocator of the wasm build.
#[cfg(target_arch = "wasm32")]
mod global {
    use super::{Heap, PAGE};
    use core::alloc::{GlobalAlloc, Layout};
    use core::cell::UnsafeCell;

    struct Wasm(UnsafeCell<Heap>);
    // SAFETY: the wasm build has a single thread.
    unsafe impl Sync for Wasm {}

    fn grow(pages: usize) -> Option<usize> {
        let prev = core::arch::wasm32::memory_grow(0, pages);
        (prev != usize::MAX).then(|| prev * PAGE)
    }

    // SAFETY: one thread, and `Heap` hands out each block once until it is freed.
    unsafe impl GlobalAlloc for Wasm {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            unsafe { (*self.0.get()).alloc(l.size(), l.align(), grow) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            unsafe { (*self.0.get()).dealloc(p, l.size(), l.align()) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            if Heap::fits(l.size(), new, l.align()) {
                return p;
            }
            unsafe {
                let q = (*self.0.get()).alloc(new, l.align(), grow);
                if !q.is_null() {
                    core::ptr::copy_nonoverlapping(p, q, l.size().min(new));
                    (*self.0.get()).dealloc(p, l.size(), l.align());
                }
                q
            }
        }
    }

    #[global_allocator]
    static HEAP: Wasm = Wasm(UnsafeCell::new(Heap::new()));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Simulated linear memory: `max` pages, page-aligned, handed out in order.
    struct Mem {
        _buf: Vec<u8>,
        base: usize,
        pages: usize,
        max: usize,
    }

    impl Mem {
        fn new(max: usize) -> Mem {
            let buf = vec![0u8; (max + 1) * PAGE];
            let base = (buf.as_ptr() as usize).div_ceil(PAGE) * PAGE;
            Mem { _buf: buf, base, pages: 0, max }
        }
        fn grow(&mut self, n: usize) -> Option<usize> {
            (self.pages + n <= self.max).then(|| {
                self.pages += n;
                self.base + (self.pages - n) * PAGE
            })
        }
    }

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Live blocks: (address, size, align, fill byte).
    fn check(live: &[(usize, usize, usize, u8)]) {
        let mut v: Vec<_> = live.to_vec();
        v.sort();
        for w in v.windows(2) {
            assert!(w[0].0 + w[0].1 <= w[1].0, "blocks overlap: {:?} {:?}", w[0], w[1]);
        }
        for &(p, size, align, fill) in live {
            assert_eq!(p % align, 0);
            // SAFETY: a live block of `size` bytes.
            let s = unsafe { core::slice::from_raw_parts(p as *const u8, size) };
            assert!(s.iter().all(|&b| b == fill), "a live block was overwritten");
        }
    }

    #[test]
    fn blocks_are_aligned_disjoint_and_kept_intact() {
        let mut mem = Mem::new(256);
        let mut h = Heap::new();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut live: Vec<(usize, usize, usize, u8)> = Vec::new();
        for round in 0..20_000 {
            if live.len() > 300 || (!live.is_empty() && rng.next().is_multiple_of(3)) {
                let (p, size, align, _) = live.swap_remove((rng.next() % live.len() as u64) as usize);
                unsafe { h.dealloc(p as *mut u8, size, align) };
            } else {
                let size = match rng.next() % 10 {
                    0 => 1 + (rng.next() % 200_000) as usize,
                    1..=3 => 1 + (rng.next() % 4096) as usize,
                    _ => 1 + (rng.next() % 100) as usize,
                };
                let align = 1 << (rng.next() % 5);
                let p = unsafe { h.alloc(size, align, |n| mem.grow(n)) } as usize;
                assert_ne!(p, 0);
                let fill = round as u8;
                unsafe { core::ptr::write_bytes(p as *mut u8, fill, size) };
                live.push((p, size, align, fill));
            }
            if round % 500 == 0 {
                check(&live);
            }
        }
        check(&live);
        // Out of memory is a null pointer, not a panic.
        let p = unsafe { h.alloc(1 << 30, 8, |n| mem.grow(n)) };
        assert!(p.is_null());
        assert!(unsafe { h.alloc(usize::MAX / 2, 8, |n| mem.grow(n)) }.is_null());
        assert!(unsafe { h.alloc(8, 1 << 20, |n| mem.grow(n)) }.is_null(), "alignment above a page");
        // realloc keeps a block that already holds the new size.
        assert!(Heap::fits(9, 16, 1) && Heap::fits(1, 8, 8) && !Heap::fits(16, 17, 1));
    }

    #[test]
    fn a_repeating_workload_stops_growing() {
        let mut mem = Mem::new(64);
        let base = mem.base;
        let mut h = Heap::new();
        // Like a long session: five kinds of page, visited over and over; each
        // grows vectors by doubling, then frees them.
        let mut taken = Vec::new();
        for cycle in 0..400u64 {
            let mut rng = Rng(1 + cycle % 5);
            let mut blocks = Vec::new();
            for _ in 0..50 {
                let mut cap = 8;
                let mut p = unsafe { h.alloc(cap, 1, |n| mem.grow(n)) };
                let want = 8 + (rng.next() % 3000) as usize;
                while cap < want {
                    let q = unsafe { h.alloc(cap * 2, 1, |n| mem.grow(n)) };
                    unsafe { h.dealloc(p, cap, 1) };
                    p = q;
                    cap *= 2;
                }
                blocks.push((p, cap));
            }
            for (p, cap) in blocks {
                unsafe { h.dealloc(p, cap, 1) };
            }
            taken.push(h.taken(base));
            if cycle == 10 {
                assert!(h.taken(base) < 400 * 1024, "{}", h.taken(base));
            }
        }
        assert!(taken[5] > 0);
        assert_eq!(taken[5], taken[399], "the heap grew in a steady workload: {taken:?}");
    }
}
