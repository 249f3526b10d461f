//! The window as read, one JSON line per record in the order to send ([`Spool`]), and what of
//! it is done ([`Cursor`]). The spool is why a resumed replay sends exactly the records the
//! first run would have, even after the stream's retention has dropped some of them.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::WindowRecord;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} line {line} is not a spooled record")]
    Record {
        path: PathBuf,
        line: u64,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is not a replay cursor")]
    Cursor {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Writes the window's records to a spool file.
pub struct SpoolWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pub records: u64,
}

impl SpoolWriter {
    pub fn create(path: &Path) -> Result<Self, SpoolError> {
        let file = File::create(path).map_err(io("create", path))?;
        Ok(Self {
            path: path.to_owned(),
            out: BufWriter::new(file),
            records: 0,
        })
    }

    pub fn push(&mut self, record: &WindowRecord) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, record)?;
        self.out.write_all(b"\n")?;
        self.records += 1;
        Ok(())
    }

    /// Flushes and syncs the file: a cursor may only point at a spool that is on disk.
    pub fn finish(mut self) -> Result<u64, SpoolError> {
        self.out.flush().map_err(io("write", &self.path))?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(io("sync", &self.path))?;
        Ok(self.records)
    }
}

/// Reads a spool's records with their ordinals (0-based positions in the spool).
pub fn read_spool(
    path: &Path,
) -> Result<impl Iterator<Item = Result<(u64, WindowRecord), SpoolError>> + use<>, SpoolError> {
    let file = File::open(path).map_err(io("open", path))?;
    let path = path.to_owned();
    Ok(BufReader::new(file)
        .lines()
        .zip(0u64..)
        .map(move |(line, ordinal)| {
            let line = line.map_err(|source| SpoolError::Io {
                action: "read",
                path: path.clone(),
                source,
            })?;
            serde_json::from_str(&line)
                .map(|record| (ordinal, record))
                .map_err(|source| SpoolError::Record {
                    path: path.clone(),
                    line: ordinal + 1,
                    source,
                })
        }))
}

/// What of a spooled window is done, saved after every batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    /// This replay's id: the standalone host's failure log and dead letters name it.
    pub id: Uuid,
    /// The replay as asked for (source, window, target): a resume must ask for the same.
    pub request: serde_json::Value,
    /// Records in the spool.
    pub total: u64,
    /// Every record below this ordinal is done.
    pub done_below: u64,
    /// Records at or above `done_below` that are done (sending to the stream keeps each
    /// customer's order, not the spool's, so records finish out of spool order).
    pub done_above: BTreeSet<u64>,
}

impl Cursor {
    pub fn new(request: serde_json::Value, total: u64) -> Self {
        Self {
            id: Uuid::new_v4(),
            request,
            total,
            done_below: 0,
            done_above: BTreeSet::new(),
        }
    }

    pub fn is_done(&self, ordinal: u64) -> bool {
        ordinal < self.done_below || self.done_above.contains(&ordinal)
    }

    pub fn mark_done(&mut self, ordinal: u64) {
        if ordinal >= self.done_below {
            self.done_above.insert(ordinal);
        }
        while self.done_above.remove(&self.done_below) {
            self.done_below += 1;
        }
    }

    /// Records done so far.
    pub fn done(&self) -> u64 {
        self.done_below + self.done_above.len() as u64
    }

    pub fn complete(&self) -> bool {
        self.done_below >= self.total
    }

    /// Where the spool of the cursor at `path` is kept.
    pub fn spool_path(path: &Path) -> PathBuf {
        let mut spool = path.as_os_str().to_owned();
        spool.push(".records");
        PathBuf::from(spool)
    }

    pub fn load(path: &Path) -> Result<Option<Self>, SpoolError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| SpoolError::Cursor {
                        path: path.to_owned(),
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", path)(e)),
        }
    }

    /// Saves the cursor so that a crash leaves either the old or the new one: written beside
    /// it, synced, then renamed over it.
    pub fn save(&self, path: &Path) -> Result<(), SpoolError> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let json = serde_json::to_vec_pretty(self).map_err(|source| SpoolError::Cursor {
            path: path.to_owned(),
            source,
        })?;
        let mut file = File::create(&temporary).map_err(io("create", &temporary))?;
        file.write_all(&json).map_err(io("write", &temporary))?;
        file.sync_all().map_err(io("sync", &temporary))?;
        std::fs::rename(&temporary, path).map_err(io("rename", path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_done_out_of_order_move_the_low_mark_once_the_gap_closes() {
        let mut cursor = Cursor::new(serde_json::json!({}), 5);
        cursor.mark_done(1);
        cursor.mark_done(3);
        assert_eq!((cursor.done_below, cursor.done()), (0, 2));
        assert!(cursor.is_done(1) && !cursor.is_done(0) && !cursor.is_done(2));
        cursor.mark_done(0);
        assert_eq!(cursor.done_below, 2);
        cursor.mark_done(2);
        cursor.mark_done(4);
        assert_eq!(cursor.done_below, 5);
        assert!(cursor.done_above.is_empty() && cursor.complete());
    }

    #[test]
    fn a_saved_cursor_loads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("replay.json");
        assert_eq!(Cursor::load(&path).expect("no error"), None);
        let mut cursor = Cursor::new(serde_json::json!({"from": "x"}), 3);
        cursor.mark_done(2);
        cursor.save(&path).expect("saved");
        assert_eq!(Cursor::load(&path).expect("loads"), Some(cursor));
    }
}
