//! The usage journal: a request whose answer is complete appends its usage event and charge to a
//! file in the data directory (one `write` of one entry) before the last part of the answer goes
//! out. The usage writer stores it in the database with the others in its next batch; once
//! everything journaled is stored, the file is emptied. If the process dies in between (a crash,
//! `kill -9`, the OOM killer), the next start replays the file before serving: events already
//! stored are skipped by their request id, charges already made by the ledger's one-charge-per-
//! request rule. The written data is in the operating system's hands at once, so it survives the
//! process; like SQLite's `synchronous = NORMAL`, not a power loss.
//!
//! Entries are MessagePack maps, one after another: named fields like JSON (an entry written
//! before a field was added still reads, the field taking its default), without JSON's text
//! escaping, which made the journal one of the costliest steps of a request. A journal left by a
//! version that wrote JSON lines (it starts with `{`) is read as such.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, Write};
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
    /// The file's length: where the next entry starts.
    len: u64,
    /// An append failed part-way and its bytes could not be cut off: nothing more is appended
    /// (it could not be read back after them) until the file is emptied.
    broken: bool,
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    open: Mutex<Open>,
}

impl Journal {
    /// Opens (creating) `usage.journal` in `dir` and returns what a previous run left in it. An
    /// unreadable end (an entry the crash cut short) is cut off, so what is appended next follows
    /// the last whole entry.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Vec<Entry>)> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("usage.journal");
        let (left, whole) = read_entries(&path)?;
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if file.metadata()?.len() > whole {
            file.set_len(whole)?;
        }
        let len = whole;
        Ok((
            Journal {
                path,
                open: Mutex::new(Open {
                    file,
                    pending: 0,
                    len,
                    broken: false,
                }),
            },
            left,
        ))
    }

    /// Appends an entry (read back as an [`Entry`]); it counts as pending until
    /// [`Journal::stored`] is told. A failed append leaves nothing of itself in the file.
    pub fn append(&self, event: &UsageEvent, charge: Option<&LeaseCharge>) -> std::io::Result<()> {
        let mut entry = Vec::with_capacity(512);
        rmp_serde::encode::write_named(&mut entry, &Line { event, charge })
            .map_err(std::io::Error::other)?;
        let mut open = app::core::cache::lock(&self.open);
        if open.broken {
            return Err(std::io::Error::other(
                "an earlier entry was written in part; appending again once the journal is emptied",
            ));
        }
        if let Err(e) = open.file.write_all(&entry) {
            let len = open.len;
            if open.file.set_len(len).is_err() {
                open.broken = true;
            }
            return Err(e);
        }
        open.len += entry.len() as u64;
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
            match open.file.set_len(0) {
                Ok(()) => {
                    open.len = 0;
                    open.broken = false;
                }
                Err(e) => {
                    tracing::warn!(error = %e, path = %self.path.display(), "could not empty the usage journal")
                }
            }
        }
    }

    /// Empties the file (after a replay).
    pub fn clear(&self) -> std::io::Result<()> {
        let mut open = app::core::cache::lock(&self.open);
        open.file.set_len(0)?;
        open.len = 0;
        open.broken = false;
        Ok(())
    }
}

/// The entries in the file at `path` and the length of the part that holds them.
fn read_entries(path: &Path) -> std::io::Result<(Vec<Entry>, u64)> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    if bytes.first() == Some(&b'{') {
        // Replayed and emptied before anything new is appended; with nothing readable, emptied now.
        let entries = json_lines(&bytes)?;
        let whole = if entries.is_empty() { 0 } else { bytes.len() };
        return Ok((entries, whole as u64));
    }
    let mut entries = Vec::new();
    let mut whole = 0;
    while whole < bytes.len() {
        let mut rest = &bytes[whole..];
        match rmp_serde::from_read::<_, Entry>(&mut rest) {
            Ok(e) => {
                entries.push(e);
                whole = bytes.len() - rest.len();
            }
            // The last entry cut short by the crash itself: its answer never finished going out.
            Err(e) => {
                tracing::warn!(error = %e, bytes = bytes.len() - whole, "skipping an unreadable end of the usage journal");
                break;
            }
        }
    }
    Ok((entries, whole as u64))
}

/// A journal of JSON lines, as versions before MessagePack entries wrote it.
fn json_lines(bytes: &[u8]) -> std::io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for line in bytes.lines() {
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
    billing::store_batch(&mut *db.acquire().await?, &ops, &events).await?;
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

    fn add(j: &Journal, id: &str) {
        let e = entry(id);
        j.append(&e.event, e.charge.as_ref()).unwrap();
    }

    /// What a restart after `j` finds.
    fn reopened(j: Journal, dir: &tempfile::TempDir) -> Vec<Entry> {
        drop(j);
        Journal::open(dir.path()).unwrap().1
    }

    fn journal_file(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("usage.journal")
    }

    fn append_bytes(path: &Path, bytes: &[u8]) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    #[test]
    fn entries_survive_until_stored_and_a_cut_entry_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert!(left.is_empty());
        add(&j, "a");
        add(&j, "b");
        // The process dies with half an entry written at the end.
        let c = entry("c");
        let whole = rmp_serde::to_vec_named(&c).unwrap();
        append_bytes(&journal_file(&dir), &whole[..whole.len() / 2]);
        drop(j);
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(left, vec![entry("a"), entry("b")]);
        j.clear().unwrap();
        add(&j, "d");
        j.stored(1);
        let left = reopened(j, &dir);
        assert!(left.is_empty(), "emptied once everything was stored");
    }

    #[test]
    fn what_follows_a_cut_entry_is_read_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_file(&dir);
        let whole = rmp_serde::to_vec_named(&entry("a")).unwrap();
        append_bytes(&path, &whole);
        append_bytes(&path, &whole[..whole.len() - 3]);
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(left, vec![entry("a")]);
        // Not replayed (say the database was down): the next entry follows the whole one.
        add(&j, "b");
        let left = reopened(j, &dir);
        assert_eq!(left, vec![entry("a"), entry("b")]);

        // Only a cut entry: the journal starts empty.
        let dir = tempfile::tempdir().unwrap();
        append_bytes(&journal_file(&dir), &whole[..5]);
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert!(left.is_empty());
        add(&j, "c");
        let left = reopened(j, &dir);
        assert_eq!(left, vec![entry("c")]);
    }

    #[test]
    fn entries_are_written_without_json_and_appended_after_a_replayed_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(dir.path()).unwrap();
        add(&j, "a");
        drop(j);
        let bytes = std::fs::read(journal_file(&dir)).unwrap();
        assert_ne!(bytes.first(), Some(&b'{'), "a MessagePack map, not JSON");
        assert_eq!(bytes, rmp_serde::to_vec_named(&entry("a")).unwrap());
        // Reopened without a replay: a new entry goes after what was left.
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(left, vec![entry("a")]);
        add(&j, "b");
        let left = reopened(j, &dir);
        assert_eq!(left, vec![entry("a"), entry("b")]);
    }

    #[test]
    fn an_entry_written_before_a_field_existed_reads_with_its_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = serde_json::to_value(entry("a")).unwrap();
        let event = old["event"].as_object_mut().unwrap();
        assert!(event.remove("probe").is_some());
        assert!(event.remove("thinking_stripped").is_some());
        assert!(old["charge"]
            .as_object_mut()
            .unwrap()
            .remove("floor")
            .is_some());
        append_bytes(&journal_file(&dir), &rmp_serde::to_vec(&old).unwrap());
        let (_, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(left, vec![entry("a")]);
    }

    #[test]
    fn a_journal_of_json_lines_from_an_earlier_version_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = journal_file(&dir);
        for id in ["a", "b"] {
            let mut line = serde_json::to_vec(&entry(id)).unwrap();
            line.push(b'\n');
            append_bytes(&path, &line);
        }
        // The process died during a line.
        append_bytes(&path, b"{\"event\":{\"request_id\":\"c");
        let (j, left) = Journal::open(dir.path()).unwrap();
        assert_eq!(left, vec![entry("a"), entry("b")]);
        // Once replayed, the journal goes on in the new form.
        j.clear().unwrap();
        add(&j, "d");
        let left = reopened(j, &dir);
        assert_eq!(left, vec![entry("d")]);
    }
}
