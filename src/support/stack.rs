//! A thread with a deep stack, for the recursive phases.

/// Stack for parsing and checking: nesting is bounded (256 levels), but pest's
/// recursion in a debug build takes kilobytes a level, more than a test
/// thread's 2 MiB. The memory is reserved, and touched only as deep as used.
const WORK_STACK: usize = 64 << 20;

/// Runs `f` on a thread with a stack deep enough for any input the limits admit.
pub(crate) fn with_stack<T: Send>(f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("rpl-compile".into())
            .stack_size(WORK_STACK)
            .spawn_scoped(s, f)
            .ok()?
            .join()
            .ok()
    })
}
