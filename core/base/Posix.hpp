// Small POSIX helpers shared by the engines and the single flight: directories and files
// created private to the user, and error messages that carry errno and the path.
#pragma once

#include <string>

namespace cacheman {

// "<what>: <strerror(errno)> (<path>)".
std::string system_message(const std::string& what, const std::string& path);

// mkdir -p, creating each missing component with mode 0700. Throws StoreError when a
// component cannot be created or is not a directory.
void ensure_directory(const std::string& dir);

// Creates `path` with mode 0600 unless it exists (SQLite would create it 0644). Throws
// StoreError when it can be neither created nor found.
void ensure_private_file(const std::string& path);

// Throws StoreError unless `path` is owned by the user and neither group nor others have any
// access to it (and it is not a symbolic link). `what` names it in the message.
void require_private(const std::string& path, const std::string& what);

} // namespace cacheman
