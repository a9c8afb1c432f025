//! The decision-only path allocates nothing once its scratch has grown: the
//! hot path of a server judging millions of returns a day.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwards the caller's layout to the system allocator unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn deciding_allocates_nothing_after_the_first_case() {
    for (policy, dir) in [
        ("marketplace", "marketplace"),
        ("risk", "risk"),
        ("fashion", "fashion"),
        ("electronics", "electronics"),
    ] {
        let program = rpl::compile(&std::fs::read_to_string(format!("policies/{policy}.rpl")).unwrap())
            .unwrap()
            .program;
        let mut paths: Vec<_> = std::fs::read_dir(format!("examples/{dir}"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
        let cases: Vec<rpl::Case> = paths
            .iter()
            .map(|p| rpl::parse_case(&std::fs::read_to_string(p).unwrap()).unwrap())
            .collect();
        let mut scratch = rpl::Scratch::default();
        for case in &cases {
            program.decide(case, &mut scratch).unwrap();
        }
        for case in &cases {
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            let decided = program.decide(case, &mut scratch).unwrap();
            let after = ALLOCATIONS.load(Ordering::Relaxed);
            assert_eq!(after - before, 0, "{policy}: deciding {} allocated", case.ret.id);
            std::hint::black_box(decided);
        }
    }
}
