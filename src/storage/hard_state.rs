//! The hard-state file: `crc32c: u32 LE` of the payload, then the payload, a prost-encoded
//! `pb::HardState`. It is replaced atomically: written to `hardstate.tmp`, synced, renamed over
//! `hardstate`, and the directory synced. A crash leaves the old file or the new one, never a mix;
//! a `hardstate.tmp` left behind by a crash is never read (the next write replaces it).

use std::io::ErrorKind;
use std::path::Path;

use prost::Message as _;

use super::{io_error, sync_dir, Disk};
use crate::pb;
use crate::raft::{HardState, StorageError};

/// Name of the hard-state file in a node directory.
pub(crate) const FILE_NAME: &str = "hardstate";
/// Name of the file a new hard state is written to before it is renamed over [`FILE_NAME`].
pub(crate) const TMP_FILE_NAME: &str = "hardstate.tmp";

/// Reads the hard state of `dir`: the default when there is no file; an error naming the file
/// when it is there but damaged.
pub(crate) fn read(disk: &dyn Disk, dir: &Path) -> Result<HardState, StorageError> {
    let path = dir.join(FILE_NAME);
    let bytes = match disk.read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(HardState::default()),
        Err(e) => return Err(io_error("cannot read", &path, e)),
    };
    let Some((crc, payload)) = bytes.split_first_chunk::<4>() else {
        return Err(StorageError(format!(
            "{}: {} bytes, too short for its 4-byte CRC at byte offset 0; refusing to go on",
            path.display(),
            bytes.len()
        )));
    };
    let stored = u32::from_le_bytes(*crc);
    let computed = crc32c::crc32c(payload);
    if stored != computed {
        return Err(StorageError(format!(
            "{}: CRC mismatch (stored {stored:08x}, computed {computed:08x}) at byte offset 0; \
             the hard state is damaged, refusing to go on",
            path.display()
        )));
    }
    let hs = pb::HardState::decode(payload).map_err(|e| {
        StorageError(format!(
            "{}: undecodable hard state at byte offset 4 ({e}); refusing to go on",
            path.display()
        ))
    })?;
    Ok(HardState::from(hs))
}

/// Replaces the hard state of `dir` atomically; with `fsync`, durably.
pub(crate) fn write(
    disk: &dyn Disk,
    dir: &Path,
    hs: &HardState,
    fsync: bool,
) -> Result<(), StorageError> {
    let payload = pb::HardState::from(*hs).encode_to_vec();
    let mut buf = Vec::with_capacity(4 + payload.len());
    buf.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
    buf.extend_from_slice(&payload);
    let tmp = dir.join(TMP_FILE_NAME);
    let mut file = disk
        .create(&tmp)
        .map_err(|e| io_error("cannot create", &tmp, e))?;
    file.append(&buf)
        .map_err(|e| io_error("cannot write", &tmp, e))?;
    if fsync {
        file.sync_all()
            .map_err(|e| io_error("cannot sync", &tmp, e))?;
    }
    drop(file);
    let path = dir.join(FILE_NAME);
    disk.rename(&tmp, &path)
        .map_err(|e| io_error("cannot rename over", &path, e))?;
    if fsync {
        sync_dir(disk, dir)?;
    }
    Ok(())
}
