// A namespace file's identity: finding or creating it, recognising it as ours (application id),
// creating the schema in an empty one and migrating an older one (Schema.hpp), and refusing a
// file that belongs to someone else or to a newer cacheman, leaving it untouched.
#pragma once

#include "base/Clock.hpp"
#include "engine/Types.hpp"
#include "engine/sqlite/Connection.hpp"

#include <memory>
#include <string>

namespace cacheman::sqlite {

using engine::OpenMode;

// Opens the store file `path` in directory `dir`. Throws StoreError when the directory or file
// cannot be created or opened, when the file is not a cacheman store, or when it was written by
// a newer cacheman.
std::unique_ptr<Connection> open_store_file(const std::string& dir, const std::string& path,
                                            OpenMode mode, int busy_timeout_ms, Clock clock);

// Whether something is at the store path `path` (false only when nothing is; StoreError when
// it cannot be told, e.g. for lack of permission on the directory).
bool store_file_exists(const std::string& path);

// An empty store in memory: tests, and reads of a store that does not exist.
std::unique_ptr<Connection> open_in_memory(int busy_timeout_ms, Clock clock);

} // namespace cacheman::sqlite
