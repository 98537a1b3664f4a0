// Small POSIX helpers shared by the engines and the single flight: directories and files
// created private to the user, the one check of every path of a store that cacheman trusts, and
// error messages that carry errno and the path.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <sys/stat.h>

namespace cacheman {

// "<what>: <strerror(errno)> (<path>)".
std::string system_message(const std::string& what, const std::string& path);

// What a path of the store must be.
enum class FileType { directory, regular };

// The one rule for every file and directory cacheman reads or writes beside a store (the store
// directory, the store file and its -wal and -shm, the counts file, the flights directory and
// its lock files, the volatile file and its directory), as OpenSSH's StrictModes: it is of
// `type`, not a symbolic link, owned by the user, and neither group nor others can write it (a
// sticky directory such as /tmp included: a store directory is never shared). Anyone who can
// write one of them could make cacheman run their hook or replay their `run` result as the user.
// `info` comes from lstat(2) or fstat(2). Throws StoreError, one line naming `what` and `path`:
// what is wrong and how to fix it.
void require_safe(const struct stat& info, FileType type, std::string_view what,
                  const std::string& path);

// require_safe on lstat(path). When nothing is at `path`, returns false if `may_be_missing`,
// else throws StoreError.
bool require_safe_path(const std::string& path, FileType type, std::string_view what,
                       bool may_be_missing = false);

// open(2) with O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK added (O_CREAT creates the file 0600), then
// require_safe on the open descriptor, of a regular file. Returns the descriptor; -1 when the
// path (or, with O_CREAT, its directory) does not exist and `may_be_missing`. Throws StoreError
// when the file cannot be opened or is not safe (a symbolic link is refused, never followed).
int open_safe(const std::string& path, int flags, std::string_view what,
              bool may_be_missing = false);

// Reads fd to its end, handing each chunk to `on_chunk`. Returns 0, or the errno of a failed
// read (EINTR is retried).
int read_to_end(int fd, const std::function<void(std::string_view)>& on_chunk);

// Writes all of `bytes` to fd. Returns 0, or the errno of a failed write (EINTR is retried).
int write_all(int fd, std::string_view bytes);

// mkdir -p with `mode` for each missing component (an existing one is left as it is).
// Throws StoreError naming `what` when a component cannot be created.
void make_directories(const std::string& dir, mode_t mode, std::string_view what);

// mkdir -p, creating each missing component with mode 0700, then require_safe_path on `dir`
// (its parents are the user's choice). Throws StoreError when a component cannot be created or
// is not a directory, or when `dir` is not safe.
void ensure_directory(const std::string& dir, std::string_view what);

// The directory's absolute path without symbolic links (realpath(3)), so that a file in it can be
// opened with every symbolic link refused. Throws StoreError when it cannot be resolved.
std::string real_directory(const std::string& dir);

// Creates `path` with mode 0600 unless it exists (SQLite would create it 0644). Throws
// StoreError when it can be neither created nor found.
void ensure_private_file(const std::string& path);

} // namespace cacheman
