//! The file system edges that every command shares: refusing what is not a regular file before
//! opening it (opening a FIFO blocks until someone writes to it), and writing a set of output
//! files so that a failure leaves none of them half-written and nothing is replaced unasked.

use std::path::{Path, PathBuf};

use crate::error::{EngineError, Result};

/// Fails unless `path` is a regular file (symlinks followed); says what it is instead.
pub fn require_regular_file(path: &Path) -> Result<std::fs::Metadata> {
    let metadata = std::fs::metadata(path).map_err(|error| EngineError::io(path, error))?;
    if metadata.is_file() {
        return Ok(metadata);
    }
    let what = if metadata.is_dir() { "a folder" } else { special_file_kind(&metadata) };
    Err(EngineError::Image { path: path.to_path_buf(), reason: format!("not a regular file ({what})") })
}

#[cfg(unix)]
fn special_file_kind(metadata: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    if kind.is_fifo() {
        "a named pipe"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_file_kind(_: &std::fs::Metadata) -> &'static str {
    "a special file"
}

/// What happened to one output of [`write_outputs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Replaced,
    /// The file already held exactly these bytes (e.g. the same LR from an earlier run).
    Unchanged,
}

/// Checks before any expensive work that `dir` can be created and written to, and that none of
/// `paths` exists unless `replace`. The bytes are not known yet: callers leave out the files
/// that may turn out identical to what exists, which [`write_outputs`] judges.
pub fn check_outputs(dir: &Path, paths: &[PathBuf], replace: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|error| EngineError::io(dir, error))?;
    let probe = dir.join(format!(".rescale-lab-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|error| EngineError::io(dir, error))?;
    let _ = std::fs::remove_file(&probe);
    if !replace {
        if let Some(path) = paths.iter().find(|p| p.exists()) {
            return Err(EngineError::Image {
                path: path.clone(),
                reason: "already exists; pass --force to replace it".to_string(),
            });
        }
    }
    Ok(())
}

/// Writes every file under a temporary name first, then renames them into place, so that a
/// failure (full disk, permissions) leaves none of the new files behind. Without `replace`,
/// an existing file with different bytes is an error and is left untouched.
pub fn write_outputs(files: &[(PathBuf, Vec<u8>)], replace: bool) -> Result<Vec<Written>> {
    let mut status = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        status.push(match std::fs::read(path) {
            Ok(existing) if existing == *bytes => Written::Unchanged,
            Ok(_) if !replace => {
                return Err(EngineError::Image {
                    path: path.clone(),
                    reason: "already exists; pass --force to replace it".to_string(),
                })
            }
            Ok(_) => Written::Replaced,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Written::Created,
            // Unreadable but present: neither replaced blindly nor taken back later.
            Err(error) => return Err(EngineError::io(path, error)),
        });
    }
    let temporaries: Vec<PathBuf> = files.iter().map(|(path, _)| temporary_name(path)).collect();
    let cleanup = |upto: usize| {
        for temporary in &temporaries[..upto] {
            let _ = std::fs::remove_file(temporary);
        }
    };
    for (i, ((_, bytes), temporary)) in files.iter().zip(&temporaries).enumerate() {
        if status[i] == Written::Unchanged {
            continue;
        }
        if let Err(error) = write_synced(temporary, bytes) {
            cleanup(i + 1);
            return Err(EngineError::io(temporary, error));
        }
    }
    for (i, ((path, _), temporary)) in files.iter().zip(&temporaries).enumerate() {
        if status[i] == Written::Unchanged {
            continue;
        }
        let placed = if replace {
            std::fs::rename(temporary, path)
        } else {
            // A hard link fails if the name exists: no window in which another process's new
            // file could be replaced. File systems without hard links fall back to a rename.
            match std::fs::hard_link(temporary, path) {
                Ok(()) => std::fs::remove_file(temporary),
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Err(error),
                Err(_) if path.exists() => Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists)),
                Err(_) => std::fs::rename(temporary, path),
            }
        };
        if let Err(error) = placed {
            // All or nothing: the new files placed so far are taken back, the rest removed.
            // (A file this call replaced cannot be brought back; --force said it could go.)
            for ((placed, _), written) in files[..i].iter().zip(&status) {
                if *written == Written::Created {
                    let _ = std::fs::remove_file(placed);
                }
            }
            for temporary in &temporaries[i..] {
                let _ = std::fs::remove_file(temporary);
            }
            return Err(EngineError::io(path, error));
        }
    }
    Ok(status)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.part-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_set_leaves_no_file_and_existing_files_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        let missing_dir = dir.path().join("no-such-folder").join("b.png");
        let err = write_outputs(&[(a.clone(), b"new".to_vec()), (missing_dir, b"x".to_vec())], false).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
        assert!(!a.exists(), "the first file is not left behind when the second fails");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no temporary left behind");

        std::fs::write(&a, b"old").unwrap();
        let err = write_outputs(&[(a.clone(), b"new".to_vec())], false).unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(std::fs::read(&a).unwrap(), b"old");
        assert_eq!(write_outputs(&[(a.clone(), b"old".to_vec())], false).unwrap(), vec![Written::Unchanged]);
        assert_eq!(write_outputs(&[(a.clone(), b"new".to_vec())], true).unwrap(), vec![Written::Replaced]);
        assert_eq!(std::fs::read(&a).unwrap(), b"new");

        // A name taken by a folder fails at the last step: the files created before it go too.
        let c = dir.path().join("c.png");
        let taken = dir.path().join("taken.png");
        std::fs::create_dir_all(taken.join("inside")).unwrap();
        assert!(write_outputs(&[(c.clone(), b"c".to_vec()), (taken.clone(), b"t".to_vec())], true).is_err());
        assert!(!c.exists(), "c.png was taken back");
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, ["a.png", "taken.png"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_being_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.png");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let err = require_regular_file(&fifo).unwrap_err().to_string();
        assert!(err.contains("pipe.png") && err.contains("named pipe"), "{err}");
        let err = require_regular_file(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a folder"), "{err}");
    }
}
