//! Loading work spread over the machine's cores: parsing thousands of rule files and building
//! one engine per logsource are independent jobs, and a SOC restarting its server or a
//! responder starting a hunt waits for them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// `f` over every item on up to `threads` threads, results in the items' order. Items are
/// handed out one at a time, so put the largest first to keep the threads evenly busy.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, f(item)));
                    }
                    out
                })
            })
            .collect();
        // A worker only panics if `f` does; carry the panic to the caller as it would be
        // without threads.
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// [`map`] for items the jobs consume.
pub fn map_owned<T: Send, R: Send>(items: Vec<T>, threads: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let cells: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    // Each cell is taken exactly once, by the one job it is handed to.
    map(&cells, threads, |cell| cell.lock().unwrap_or_else(PoisonError::into_inner).take().map(&f))
        .into_iter()
        .flatten()
        .collect()
}

/// How many threads loading uses: the machine's cores, at most eight.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order_whatever_the_thread_count() {
        let items: Vec<u64> = (0..1000).collect();
        for threads in [1, 2, 7, 2000] {
            let squares = super::map(&items, threads, |x| x * x);
            assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        }
        assert!(super::map(&[] as &[u8], 4, |x| *x).is_empty());
        let strings: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        assert_eq!(super::map_owned(strings.clone(), 3, |s| s), strings);
    }
}
