//! The usage journal: a request whose answer is complete appends its usage event and charge to a
//! file in the data directory (one `write` of one entry) before the last part of the answer goes
//! out. The usage writer stores it in the database with the others in its next batch. If the
//! process dies in between (a crash, `kill -9`, the OOM killer), the next start replays the files
//! before serving: events already stored are skipped by their request id, charges already made by
//! the ledger's one-charge-per-request rule. The written data is in the operating system's hands at
//! once, so it survives the process; like SQLite's `synchronous = NORMAL`, not a power loss.
//!
//! Two files take turns, so the journal stays small under a load that never pauses (where some
//! entry is always waiting to be stored): once the file being appended to passes
//! [`ROTATE_AT`] and the other holds nothing waiting, appends go to the other, emptied first; the
//! first is emptied when its last entry is stored. A file whose every entry is stored is also
//! emptied once it passes [`EMPTY_AT`] (not after each batch: a request pays no file-system work
//! beyond its `write`), and both are emptied when the writer stops.
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

/// The file being appended to passes this: appends go to the other file.
pub const ROTATE_AT: u64 = 4 << 20;
/// A file whose every entry is stored is emptied once it passes this.
pub const EMPTY_AT: u64 = 64 << 10;
/// The journal's two files in the data directory.
const FILES: [&str; 2] = ["usage.journal", "usage.journal.1"];
/// Replayed entries go to the database in transactions of this many.
const REPLAY_BATCH: usize = 512;

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

/// Which turn of which file an entry went into, to tell [`Journal::stored`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Turn(u64);

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    file: File,
    /// Counts up each time the file takes its turn, so an entry of an earlier turn is not counted
    /// against a later one.
    turn: u64,
    /// Entries appended and not yet stored in the database.
    pending: u64,
    /// The file's length: where the next entry starts.
    len: u64,
    /// An append failed part-way and its bytes could not be cut off: nothing more is appended
    /// (it could not be read back after them) until the file is emptied.
    broken: bool,
}

impl Segment {
    fn empty(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.len = 0;
        self.broken = false;
        Ok(())
    }

    /// Empties the file, logging a failure; whether it is empty now.
    fn empty_logged(&mut self) -> bool {
        match self.empty() {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, path = %self.path.display(), "could not empty the usage journal");
                false
            }
        }
    }
}

#[derive(Debug)]
struct Files {
    segments: [Segment; 2],
    /// The one appended to.
    current: usize,
}

#[derive(Debug)]
pub struct Journal {
    files: Mutex<Files>,
    rotate_at: u64,
}

impl Journal {
    /// Opens (creating) the journal's files in `dir` and returns what a previous run left in
    /// them. An unreadable end (an entry the crash cut short) is cut off, so what is appended next
    /// follows the last whole entry.
    pub fn open(dir: &Path) -> std::io::Result<(Journal, Vec<Entry>)> {
        Self::open_rotating_at(dir, ROTATE_AT)
    }

    fn open_rotating_at(dir: &Path, rotate_at: u64) -> std::io::Result<(Journal, Vec<Entry>)> {
        std::fs::create_dir_all(dir)?;
        let mut left = Vec::new();
        let mut open = |i: usize| -> std::io::Result<Segment> {
            let path = dir.join(FILES[i]);
            let (entries, whole) = read_entries(&path)?;
            left.extend(entries);
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            if file.metadata()?.len() > whole {
                file.set_len(whole)?;
            }
            Ok(Segment {
                path,
                file,
                turn: i as u64,
                pending: 0,
                len: whole,
                broken: false,
            })
        };
        // Both files' entries; their order does not matter to a replay.
        let second = open(1)?;
        let first = open(0)?;
        Ok((
            Journal {
                files: Mutex::new(Files {
                    segments: [first, second],
                    current: 0,
                }),
                rotate_at,
            },
            left,
        ))
    }

    /// Appends an entry (read back as an [`Entry`]); it counts as pending until
    /// [`Journal::stored`] is told with the returned turn. A failed append leaves nothing of
    /// itself in the file.
    pub fn append(
        &self,
        event: &UsageEvent,
        charge: Option<&LeaseCharge>,
    ) -> std::io::Result<Turn> {
        // An entry is 500–700 bytes: one allocation, no growth.
        let mut entry = Vec::with_capacity(1024);
        rmp_serde::encode::write_named(&mut entry, &Line { event, charge })
            .map_err(std::io::Error::other)?;
        let mut guard = app::core::cache::lock(&self.files);
        let files = &mut *guard;
        files.take_turns(self.rotate_at);
        let segment = &mut files.segments[files.current];
        if segment.broken {
            return Err(std::io::Error::other(
                "an earlier entry was written in part; appending again once the journal is emptied",
            ));
        }
        if let Err(e) = segment.file.write_all(&entry) {
            let len = segment.len;
            if segment.file.set_len(len).is_err() {
                segment.broken = true;
            }
            return Err(e);
        }
        segment.len += entry.len() as u64;
        segment.pending += 1;
        Ok(Turn(segment.turn))
    }

    /// `n` entries journaled in `turn` are in the database now.
    pub fn stored(&self, turn: Turn, n: u64) {
        if n == 0 {
            return;
        }
        let mut guard = app::core::cache::lock(&self.files);
        let files = &mut *guard;
        let current = files.current;
        let Some(i) = files.segments.iter().position(|s| s.turn == turn.0) else {
            return;
        };
        let segment = &mut files.segments[i];
        segment.pending = segment.pending.saturating_sub(n);
        // The other file's last entry, or the current file grown past the size worth emptying.
        if segment.pending == 0 && segment.len > 0 && (i != current || segment.len >= EMPTY_AT) {
            segment.empty_logged();
        }
    }

    /// Empties what holds only stored entries (when the writer stops).
    pub fn empty_stored(&self) {
        let mut files = app::core::cache::lock(&self.files);
        for segment in &mut files.segments {
            if segment.pending == 0 && segment.len > 0 {
                segment.empty_logged();
            }
        }
    }

    /// Empties both files (after a replay).
    pub fn clear(&self) -> std::io::Result<()> {
        let mut files = app::core::cache::lock(&self.files);
        for segment in &mut files.segments {
            segment.empty()?;
        }
        Ok(())
    }

    /// The bytes in both files.
    pub fn size(&self) -> u64 {
        let files = app::core::cache::lock(&self.files);
        files.segments.iter().map(|s| s.len).sum()
    }
}

impl Files {
    /// Appends go to the other file when the current one has passed `rotate_at` (or cannot be
    /// appended to) and the other holds nothing waiting to be stored.
    fn take_turns(&mut self, rotate_at: u64) {
        let current = &self.segments[self.current];
        if current.len < rotate_at && !current.broken {
            return;
        }
        let turn = current.turn;
        let other = &mut self.segments[1 - self.current];
        if other.pending > 0 {
            return;
        }
        if other.len > 0 && !other.empty_logged() {
            return;
        }
        other.turn = turn + 1;
        self.current = 1 - self.current;
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
    let mut conn = db.acquire().await?;
    for chunk in entries.chunks(REPLAY_BATCH) {
        let ops: Vec<LedgerOp> = chunk
            .iter()
            .filter_map(|e| e.charge.clone())
            .filter(|c| !charged.contains(&c.request_id))
            .map(LedgerOp::Charge)
            .collect();
        let events: Vec<UsageEvent> = chunk.iter().map(|e| e.event.clone()).collect();
        billing::store_batch(&mut conn, &ops, &events).await?;
    }
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

    fn add(j: &Journal, id: &str) -> Turn {
        let e = entry(id);
        j.append(&e.event, e.charge.as_ref()).unwrap()
    }

    /// The bytes of both files on disk.
    fn on_disk(dir: &tempfile::TempDir) -> u64 {
        FILES
            .iter()
            .map(|f| std::fs::metadata(dir.path().join(f)).map_or(0, |m| m.len()))
            .sum()
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries
            .iter()
            .map(|e| e.event.request_id.as_str())
            .collect()
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
        let d = add(&j, "d");
        j.stored(d, 1);
        j.empty_stored();
        let left = reopened(j, &dir);
        assert!(left.is_empty(), "emptied once everything was stored");
    }

    #[test]
    fn under_a_load_that_never_pauses_the_journal_stays_small() {
        // Each batch stores the entries before the last: there is always one waiting.
        let dir = tempfile::tempdir().unwrap();
        let rotate_at = 16 << 10;
        let (j, _) = Journal::open_rotating_at(dir.path(), rotate_at).unwrap();
        let one = rmp_serde::to_vec_named(&entry("r0000")).unwrap().len() as u64;
        let mut waiting = add(&j, "r0000");
        let mut largest = 0;
        for i in 1..2000 {
            let turn = add(&j, &format!("r{i:04}"));
            j.stored(waiting, 1);
            waiting = turn;
            assert_eq!(j.size(), on_disk(&dir));
            largest = largest.max(on_disk(&dir));
        }
        assert!(
            largest <= rotate_at + 2 * one,
            "{largest} bytes journaled for one entry waiting (each {one} bytes)"
        );
        // What a crash now leaves: the one waiting entry is among what is replayed.
        let left = reopened(j, &dir);
        assert!(ids(&left).contains(&"r1999"));
        assert!(left.len() as u64 <= rotate_at / one + 2);
    }

    #[test]
    fn entries_of_the_earlier_file_are_counted_there() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open_rotating_at(dir.path(), 1).unwrap();
        let a = add(&j, "a");
        // Past the size: "b" goes to the other file, "c" stays there while "a" waits.
        let b = add(&j, "b");
        let c = add(&j, "c");
        assert_ne!(a, b);
        assert_eq!(b, c);
        // "a" stored: its file is emptied; "b" and "c" wait in theirs.
        j.stored(a, 1);
        j.stored(b, 1);
        let left = reopened(j, &dir);
        assert_eq!(ids(&left), ["b", "c"]);

        // Taking turns again, the first file's new entries do not count as an earlier turn's.
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open_rotating_at(dir.path(), 1).unwrap();
        let a = add(&j, "a");
        let b = add(&j, "b");
        j.stored(a, 1);
        let c = add(&j, "c");
        assert_ne!(c, a, "a new turn of the first file");
        j.stored(a, 1);
        j.stored(b, 1);
        let left = reopened(j, &dir);
        assert_eq!(ids(&left), ["c"], "the stale count emptied nothing");
    }

    #[test]
    fn a_stored_file_is_emptied_past_a_size_and_when_the_writer_stops() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(dir.path()).unwrap();
        // Small and all stored: left as it is (a replay skips what is stored).
        let a = add(&j, "a");
        j.stored(a, 1);
        assert!(on_disk(&dir) > 0);
        let mut n = 1;
        while on_disk(&dir) < EMPTY_AT {
            add(&j, &format!("e{n}"));
            n += 1;
        }
        j.stored(a, n);
        assert_eq!(on_disk(&dir), 0, "emptied past {EMPTY_AT} bytes");
        let b = add(&j, "b");
        j.empty_stored();
        assert!(on_disk(&dir) > 0, "b is waiting");
        j.stored(b, 1);
        j.empty_stored();
        assert_eq!(on_disk(&dir), 0);
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
