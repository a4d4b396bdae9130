//! Giving memory back to the system after bursts.
//!
//! A page of 1,000 resources with includes allocates a few megabytes on whichever threads
//! decode and assemble it (actix workers, the SQLite connection threads). glibc keeps freed
//! memory in per-thread arenas, so after a burst of such pages the process kept its peak
//! (measured: 37 MB idle, 200 MB after 320 requests of 1 MB pages, issue 11) although
//! nothing was in use. `malloc_trim(0)` returns the free pages of every arena; run every
//! few seconds it costs microseconds when there is nothing to return.

use std::time::Duration;

/// How often free memory is returned.
const PERIOD: Duration = Duration::from_secs(2);

/// Starts returning free memory to the system every few seconds (glibc on Linux; elsewhere
/// nothing to do: other allocators return memory themselves).
pub fn spawn_trimmer() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async {
        let mut tick = tokio::time::interval(PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // SAFETY: malloc_trim only releases free memory; it is thread-safe in glibc.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    });
}
