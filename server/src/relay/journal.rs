//! The usage journal: a request whose answer is complete appends its usage event and charge to a
//! file in the data directory (one `write` of a JSON line) before the last part of the answer goes
//! out. The usage writer stores it in the database with the others in its next batch; once
//! everything journaled is stored, the file is emptied. If the process dies in between (a crash,
//! `kill -9`, the OOM killer), the next start replays the file before serving: events already
//! stored are skipped by their request id, charges already made by the ledger's one-charge-per-
//! request rule. The written data is in the operating system's hands at once, so it survives the
//! process; like SQLite's `synchronous = NORMAL`, not a power loss.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use app::core::billing::{self, LeaseCharge, LedgerOp};
use app::core::db::Db;
use app::core::error::StoreError;
use app::core::usage_log::{self, UsageEvent};

/// One journaled request: its event and its charge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub event: UsageEvent,
    pub charge: Option<LeaseCharge>,
}

/// An entry as it is written, borrowing what the request already holds.
#[derive(Serialize)]
struct Line<'a> {
    event: &'a UsageEvent,
    charge: Option<&'a LeaseCharge>,
}

#[derive(Debug)]
struct Open {
    file: File,
    /// Entries appended and not yet stored in the database.
    pending: u64,
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    open: Mutex<Open>,
}

impl Journal {
    /// Opens (creating) `usage.journal` in `dir` and returns what a previous run left in it.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Vec<Entry>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("usage.journal");
        let left = read_entries(&path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok((
            Journal {
                path,
                open: Mutex::new(Open { file, pending: 0 }),
            },
            left,
        ))
    }

    /// Appends an entry (read back as an [`Entry`]); it counts as pending until
    /// [`Journal::stored`] is told.
    pub fn append(&self, event: &UsageEvent, charge: Option<&LeaseCharge>) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(768);
        serde_json::to_writer(&mut line, &Line { event, charge })?;
        line.push(b'\n');
        let mut open = app::core::cache::lock(&self.open);
        open.file.write_all(&line)?;
        open.pending += 1;
        Ok(())
    }

    /// `n` journaled entries are in the database now; when none is pending any more the file is
    /// emptied.
    pub fn stored(&self, n: u64) {
        if n == 0 {
            return;
        }
        let mut open = app::core::cache::lock(&self.open);
        open.pending = open.pending.saturating_sub(n);
        if open.pending == 0 {
            if let Err(e) = open.file.set_len(0) {
                tracing::warn!(error = %e, path = %self.path.display(), "could not empty the usage journal");
            }
        }
    }

    /// Empties the file (after a replay).
    pub fn clear(&self) -> std::io::Result<()> {
        let open = app::core::cache::lock(&self.open);
        open.file.set_len(0)
    }
}

fn read_entries(path: &Path) -> std::io::Result<Vec<Entry>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut entries = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(&line) {
            Ok(e) => entries.push(e),
            // A line cut short by the crash itself: its answer never finished going out.
            Err(e) => tracing::warn!(error = %e, "skipping an unreadable usage journal line"),
        }
    }
    Ok(entries)
}

/// Stores what a previous run journaled and had not stored: events it lacks (by request id) and
/// charges not made yet. Returns how many events were new.
pub async fn replay(db: &Db, entries: &[Entry]) -> Result<usize, StoreError> {
    if entries.is_empty() {
        return Ok(0);
    }
    let ids: Vec<&str> = entries
        .iter()
        .map(|e| e.event.request_id.as_str())
        .collect();
    let charged = billing::charged_already(db, &ids).await?;
    let before = usage_log::count_of(db, &ids).await?;
    let ops: Vec<LedgerOp> = entries
        .iter()
        .filter_map(|e| e.charge.clone())
        .filter(|c| !charged.contains(&c.request_id))
        .map(LedgerOp::Charge)
        .collect();
    let events: Vec<UsageEvent> = entries.iter().map(|e| e.event.clone()).collect();
    let mut tx = db.pool().begin().await?;
    billing::apply(&mut tx, &ops).await?;
    usage_log::insert_in(&mut tx, &events).await?;
    tx.commit().await?;
    Ok(entries.len().saturating_sub(before))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            event: UsageEvent {
                request_id: id.into(),
                model: "m".into(),
                cost: 5,
                ..UsageEvent::default()
            },
            charge: Some(LeaseCharge {
                user_id: 1,
                token_id: None,
                request_id: id.into(),
                cost: 5,
                lease_id: None,
                from_lease: 0,
                reason: "m".into(),
                floor: 0,
            }),
        }
    }

    #[test]
    fn entries_survive_until_stored_and_a_cut_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert!(left.is_empty());
        let e = entry("a");
        j.append(&e.event, e.charge.as_ref()).unwrap();
        let e = entry("b");
        j.append(&e.event, e.charge.as_ref()).unwrap();
        // The process dies with a half-written line at the end.
        {
            let mut f = OpenOptions::new()
                .append(true)
                .open(dir.path().join("usage.journal"))
                .unwrap();
            f.write_all(b"{\"event\":{\"request_id\":\"c").unwrap();
        }
        drop(j);
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(left, vec![entry("a"), entry("b")]);
        j.clear().unwrap();
        let e = entry("d");
        j.append(&e.event, e.charge.as_ref()).unwrap();
        j.stored(1);
        drop(j);
        let (_, left) = Journal::open(dir.path()).unwrap();
        assert!(left.is_empty(), "emptied once everything was stored");
    }
}
