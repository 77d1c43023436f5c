//! A request's work runs inside its connection's task (no task of its own to start and schedule)
//! until it must outlive the handler: when the response is handed over while the work goes on (a
//! stream still relaying, a settle still waiting), or when the client goes away and hyper drops
//! the handler, what is left of the work moves to a task of its own. Either way it runs to its end,
//! so a client that leaves never cancels a request's settling.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::CatchUnwind;
use futures_util::FutureExt;
use tokio::sync::oneshot;
use tokio_util::task::task_tracker::TrackedFuture;
use tokio_util::task::TaskTracker;

/// The work of a request, boxed so that moving it into a task moves a pointer.
pub type Work = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A request's work, polled here until its response is ready, then detached.
pub struct Detachable {
    work: Option<CatchUnwind<AssertUnwindSafe<TrackedFuture<Work>>>>,
    response: oneshot::Receiver<axum::response::Response>,
}

impl Detachable {
    /// `work` sends its response into the sender of `response`; `tasks` tracks it wherever it
    /// runs (shutdown waits for it).
    pub fn new(
        work: Work,
        response: oneshot::Receiver<axum::response::Response>,
        tasks: &TaskTracker,
    ) -> Detachable {
        Detachable {
            work: Some(AssertUnwindSafe(tasks.track_future(work)).catch_unwind()),
            response,
        }
    }

    /// Moves what is left of the work into a tracked task of its own.
    fn detach(&mut self) {
        if let Some(work) = self.work.take() {
            // Outside a runtime (its shutdown dropping the handler) there is nowhere to go on.
            if tokio::runtime::Handle::try_current().is_ok() {
                tokio::spawn(async move {
                    // A panic was already reported by the panic hook; the work is over.
                    let _ = work.await;
                });
            }
        }
    }
}

impl Future for Detachable {
    /// The response, or `None` when the work ended (or panicked) without one.
    type Output = Option<axum::response::Response>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(work) = this.work.as_mut() {
            // A panic ends the work; its sender is dropped and the response below says so.
            if Pin::new(work).poll(cx).is_ready() {
                this.work = None;
            }
        }
        // The response is only ever sent while the work is polled, and the work is polled only
        // here: no waker is needed on the receiver (so sending does not wake this task again).
        match this.response.try_recv() {
            Ok(response) => {
                this.detach();
                Poll::Ready(Some(response))
            }
            Err(oneshot::error::TryRecvError::Empty) if this.work.is_some() => Poll::Pending,
            Err(_) => {
                this.detach();
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for Detachable {
    /// The client went away (hyper dropped the handler): the work goes on without it.
    fn drop(&mut self) {
        self.detach();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use axum::response::{IntoResponse, Response};

    use super::*;

    fn ok() -> Response {
        "ok".into_response()
    }

    #[tokio::test]
    async fn work_that_ends_with_its_response_runs_to_its_end_in_place() {
        let tasks = TaskTracker::new();
        let (tx, rx) = oneshot::channel();
        let settled = Arc::new(AtomicBool::new(false));
        let flag = settled.clone();
        let work: Work = Box::pin(async move {
            let _ = tx.send(ok());
            tokio::task::yield_now().await;
            flag.store(true, Ordering::SeqCst);
        });
        let mut detachable = Detachable::new(work, rx, &tasks);
        // The first poll sends the response and stops at the yield: the rest goes to a task.
        let response = std::future::poll_fn(|cx| Pin::new(&mut detachable).poll(cx)).await;
        assert!(response.is_some());
        drop(detachable);
        tasks.close();
        tasks.wait().await;
        assert!(settled.load(Ordering::SeqCst), "the rest of the work ran");

        // Work with nothing left to wait for is done when its response is.
        let (tx, rx) = oneshot::channel();
        let flag = Arc::new(AtomicBool::new(false));
        let seen = flag.clone();
        let work: Work = Box::pin(async move {
            let _ = tx.send(ok());
            seen.store(true, Ordering::SeqCst);
        });
        assert!(Detachable::new(work, rx, &TaskTracker::new())
            .await
            .is_some());
        assert!(flag.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn work_whose_handler_is_dropped_goes_on_and_is_tracked() {
        let tasks = TaskTracker::new();
        let (tx, rx) = oneshot::channel();
        let (go, wait) = oneshot::channel::<()>();
        let (done_tx, done) = oneshot::channel();
        let work: Work = Box::pin(async move {
            let _ = wait.await;
            // The client is gone: sending says so.
            let _ = done_tx.send(tx.send(ok()).is_err());
        });
        let mut detachable = Detachable::new(work, rx, &tasks);
        assert!(futures_util::poll!(&mut detachable).is_pending());
        assert_eq!(tasks.len(), 1);
        drop(detachable);
        assert_eq!(tasks.len(), 1, "still tracked after the handler is gone");
        go.send(()).unwrap();
        assert!(done.await.unwrap(), "the work saw the client gone");
        tasks.close();
        tasks.wait().await;
    }

    #[tokio::test]
    async fn work_that_ends_without_a_response_gives_none() {
        let tasks = TaskTracker::new();
        let (tx, rx) = oneshot::channel::<Response>();
        let work: Work = Box::pin(async move { drop(tx) });
        assert!(Detachable::new(work, rx, &tasks).await.is_none());

        let (tx, rx) = oneshot::channel::<Response>();
        let work: Work = Box::pin(async move {
            let _tx = tx;
            panic!("a bug in a request's work");
        });
        assert!(Detachable::new(work, rx, &tasks).await.is_none());
        assert_eq!(tasks.len(), 0);
    }
}
