//! The database budget: how many requests may use the database at once, and for how long.
//!
//! A request takes one slot before its first statement and keeps it to its end (a request runs
//! its statements one after another, so a slot is at most one connection; there are as many
//! slots as connections, so the pool never runs dry). A request that finds no free slot waits
//! a short while in a queue, then is refused ([`DbError::Busy`], answered 503 with
//! `Retry-After`). Some slots are kept for cheap requests (reads by id), so that they are served
//! quickly under a flood of expensive searches. Every request has a deadline for all its
//! statements together.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use super::DbError;

/// How much a request is expected to cost the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// A read by id: one key lookup (and its child rows).
    Cheap,
    /// A search, its includes, `$everything`: as much as its criteria make it.
    Expensive,
}

/// Settings of the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetSettings {
    /// How long all the statements of one request may take together.
    pub request_timeout: Duration,
    /// How long a request waits for a free slot before it is refused.
    pub queue_timeout: Duration,
    /// Slots (of `max_connections`) only cheap requests may take.
    pub reserved_for_reads: u32,
}

impl Default for BudgetSettings {
    fn default() -> Self {
        BudgetSettings {
            request_timeout: Duration::from_secs(30),
            queue_timeout: Duration::from_secs(2),
            reserved_for_reads: 2,
        }
    }
}

/// The slots of one server.
#[derive(Debug)]
pub struct Budget {
    /// Slots any request may take.
    general: Arc<Semaphore>,
    /// Slots only cheap requests may take.
    reserved: Arc<Semaphore>,
    settings: BudgetSettings,
    /// Requests waiting for a slot now.
    waiting: std::sync::atomic::AtomicUsize,
}

impl Budget {
    /// `slots` slots (at least one), of which `settings.reserved_for_reads` are kept for cheap
    /// requests (at least one slot stays open to every request).
    pub fn new(slots: u32, settings: BudgetSettings) -> Budget {
        let slots = slots.max(1) as usize;
        let reserved = (settings.reserved_for_reads as usize).min(slots - 1);
        Budget {
            general: Arc::new(Semaphore::new(slots - reserved)),
            reserved: Arc::new(Semaphore::new(reserved)),
            settings,
            waiting: Default::default(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> BudgetSettings {
        self.settings
    }

    /// A slot for a request of `cost`, waiting at most the queue timeout.
    async fn acquire(&self, cost: Cost) -> Result<OwnedSemaphorePermit, DbError> {
        let closed = |_| DbError::Unavailable("the server is shutting down".into());
        if cost == Cost::Cheap
            && let Ok(p) = self.reserved.clone().try_acquire_owned()
        {
            return Ok(p);
        }
        let wait = async {
            match cost {
                Cost::Expensive => self.general.clone().acquire_owned().await.map_err(closed),
                Cost::Cheap => tokio::select! {
                    p = self.general.clone().acquire_owned() => p.map_err(closed),
                    p = self.reserved.clone().acquire_owned() => p.map_err(closed),
                },
            }
        };
        let _waiting = Waiting::new(&self.waiting);
        tokio::time::timeout(self.settings.queue_timeout, wait)
            .await
            .unwrap_or(Err(DbError::Busy))
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Counts one waiting request for as long as it lives (a request whose client went away stops
/// waiting too).
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(n: &'a std::sync::atomic::AtomicUsize) -> Self {
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// One request's use of the budget: its cost, its deadline, and its slot once taken (kept
/// until the last holder of this value is gone: the request, or a statement being cancelled
/// in the background).
#[derive(Debug)]
pub struct RequestBudget {
    budget: Arc<Budget>,
    cost: Cost,
    deadline: Instant,
    slot: OnceCell<OwnedSemaphorePermit>,
}

impl RequestBudget {
    /// A request of `cost` starting now.
    pub fn new(budget: Arc<Budget>, cost: Cost) -> RequestBudget {
        let deadline = Instant::now() + budget.settings.request_timeout;
        RequestBudget {
            budget,
            cost,
            deadline,
            slot: OnceCell::new(),
        }
    }

    /// When the request's time is up.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Takes the request's slot, if it has none yet.
    pub async fn admit(&self) -> Result<(), DbError> {
        self.slot
            .get_or_try_init(|| self.budget.acquire(self.cost))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(slots: u32, reserved: u32) -> Arc<Budget> {
        Arc::new(Budget::new(
            slots,
            BudgetSettings {
                request_timeout: Duration::from_secs(5),
                queue_timeout: Duration::from_millis(50),
                reserved_for_reads: reserved,
            },
        ))
    }

    #[tokio::test]
    async fn expensive_requests_leave_the_reserved_slots_to_cheap_ones() {
        let b = budget(3, 1);
        let a = RequestBudget::new(b.clone(), Cost::Expensive);
        let c = RequestBudget::new(b.clone(), Cost::Expensive);
        a.admit().await.unwrap();
        c.admit().await.unwrap();
        // The third expensive request waits, then is refused; a cheap one gets the reserved slot.
        let d = RequestBudget::new(b.clone(), Cost::Expensive);
        assert!(matches!(d.admit().await, Err(DbError::Busy)));
        let r = RequestBudget::new(b.clone(), Cost::Cheap);
        r.admit().await.unwrap();
        // A second cheap one finds nothing free, until a slot is given back.
        let r2 = RequestBudget::new(b.clone(), Cost::Cheap);
        assert!(matches!(r2.admit().await, Err(DbError::Busy)));
        drop(a);
        r2.admit().await.unwrap();
        // Admitting again keeps the same slot.
        r2.admit().await.unwrap();
        assert_eq!(b.general.available_permits(), 0);
    }

    #[tokio::test]
    async fn one_slot_is_always_open_to_every_request() {
        let b = budget(1, 4);
        let a = RequestBudget::new(b.clone(), Cost::Expensive);
        a.admit().await.unwrap();
        drop(a);
        let r = RequestBudget::new(b, Cost::Cheap);
        r.admit().await.unwrap();
    }
}
