//! Locks that ignore poisoning, by one rule.
//!
//! A panic while a lock was held leaves the data as the panicking code left it. Everything
//! dataconn keeps behind a lock (a client, settings, a map of live connections) is replaced
//! whole or is valid after each step, so the next user takes the lock as it is rather than
//! turning one panic into a panic on every later call.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// [`RwLock`] access that ignores poisoning (see the module docs for why that is sound here).
pub trait LockExt<T: ?Sized> {
    /// Read, whether or not a writer panicked.
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T>;
    /// Write, whether or not a writer panicked.
    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T>;
}

impl<T: ?Sized> LockExt<T> for RwLock<T> {
    fn read_unpoisoned(&self) -> RwLockReadGuard<'_, T> {
        self.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_unpoisoned(&self) -> RwLockWriteGuard<'_, T> {
        self.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// [`Mutex`] access that ignores poisoning (see the module docs for why that is sound here).
pub trait MutexExt<T: ?Sized> {
    /// Lock, whether or not a holder panicked.
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T>;
}

impl<T: ?Sized> MutexExt<T> for Mutex<T> {
    fn lock_unpoisoned(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
