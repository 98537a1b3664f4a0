// The layout of a namespace file, its version, and its migrations.
//
// Tables (schema version 1):
//   caches(id INTEGER PRIMARY KEY, name TEXT UNIQUE, created REAL, invalidated REAL,
//          next_expiry REAL)
//       One row per cache: the metadata table for per-cache settings. `id` names the cache's
//       entries table; `invalidated` is the unix time it was last cleared by an invalidation;
//       `next_expiry` is a lower bound of the earliest `expires` among its entries (NULL: none
//       expire), so writers purge expired entries only when one may be due.
//   depends(parent TEXT, child TEXT, PRIMARY KEY(parent, child)) WITHOUT ROWID
//       Dependency edges by cache name: child is computed from parent. Both ends exist in
//       `caches`; the graph is acyclic (checked before an edge is inserted).
//   cache_<id>(key TEXT PRIMARY KEY, expires REAL, used INTEGER, value BLOB NOT NULL): a rowid
//   table, its key in an index of its own
//       One entries table per cache. Its name comes from the integer id, never from the user's
//       cache name, so no name can reach SQL as an identifier and names that differ only in
//       ASCII case (which SQLite identifiers would fold) stay distinct. `expires` comes before
//       `value` so expiry checks do not read large values' overflow pages.
//
// Schema version 2 adds per-cache settings to `caches` (hook commands builder, loader, saver,
// validator, deleter, pre_processor, post_processor; default_ttl_ms; volatile; autosync (NULL:
// on when a saver is set); autosync_checks (NULL: the seed's defaults); built: 1 once the
// builder filled the cache since it was last cleared) and the auto-sync edit counts:
//   edits(cache_id, bucket, count) WITHOUT ROWID: edits per second (bucket = unix second).
//   log(id, at, command, cache, cleared): the invalidation history, newest k_log_limit rows;
//       `cleared` is a JSON array of the caches a command cleared, cascade included.
//   stats(cache, hits, misses): lookup counts by cache name, folded in from the counts file
//       that `get` and `run` append to (see LookupCounts.hpp), so that counting never writes here
//       from a reader.
// Schema version 3 adds two columns of state to `caches`: `generation`, counted up each time the
// cache is cleared by an invalidation (a `run` stores its result only if the generation it saw
// before the command started is still current), and `saved_current` (1 while the saver's copy
// holds nothing from before the last clear; 0 after a clear, so that `reload` falls back to the
// builder instead of loading cleared data back; 1 again after a save).
// Schema version 4 adds size limits and the order of use for eviction: `caches.max_entries` and
// `caches.max_bytes` (NULL: no limit); `use_clock(tick)`, one row, a counter bumped by each write
// transaction that stores entries or folds lookups; and each entries table's `used` column: the
// tick of the entry's last store or (folded) lookup, NULL for entries stored before version 4
// (the least recently used of all). New entries tables put `used` before `value` so that
// choosing what to evict never reads values' overflow pages; tables migrated from version 3
// have it last (ALTER TABLE appends). Eviction removes the lowest (used, key) first; it never
// clears dependents and is not logged.
// Schema version 5 makes every entries table a rowid table (see create_entries_table).
// Schema version 6 adds the contents that entries refer to, stored once per distinct content
// (the files of `run --output`):
//   contents(id INTEGER PRIMARY KEY, digest TEXT UNIQUE, size INTEGER, pinned REAL)
//       One row per distinct content, by its content address (XXH3-128 of the bytes, 32 hex
//       digits). `pinned` (unix seconds) protects a content stored for a write that has not
//       committed yet: nothing removes it before then, though nothing refers to it.
//   content_chunks(content_id, seq, data BLOB): a rowid table, (content_id, seq) in an index
//       The bytes, in chunks of at most 1 MiB in order of `seq`: no row is larger than that
//       (SQLite refuses a value over 1 GB) and reading one never holds more in memory.
//   content_refs(cache_id, key, content_id) WITHOUT ROWID, indexed by content_id
//       Which entry refers to which content. Every removal of an entry (overwrite, erase,
//       clear, cascade, eviction, expiry, drop) removes its references in the same transaction,
//       and with them each content nothing else refers to (unless pinned). A reference whose
//       entry is gone (a volatile file lost at reboot) is removed by gc, and so is a content that
//       nothing refers to and whose pin has passed (a crash between storing it and the write).
//       An entry's bytes are its value's length plus the sizes of the contents it refers to.
// A volatile cache's cache_<id> table lives in a second file under the runtime directory,
// attached as schema "volatile", so its values never reach the namespace file.
//
// Invariants: every cache_<id> table has a caches row and vice versa; an entry whose
// `expires` <= now is invisible to every read and removed lazily by writers.
//
// Identification: PRAGMA application_id is k_application_id; PRAGMA user_version is the schema
// version. A file with another application id, or a version newer than this binary knows, is
// refused and left untouched.
#pragma once

#include <cstdint>
#include <string>

namespace cacheman::sqlite {
class Database;
}

namespace cacheman::schema {

constexpr std::int32_t k_application_id = 0x63616368; // "cach"
constexpr int k_latest_version = 7;
constexpr int k_log_limit = 1000;

// Creates the latest schema in an empty database (inside the caller's write transaction).
void create(sqlite::Database& db);

// Migrates from `version` to k_latest_version (inside the caller's write transaction).
void migrate(sqlite::Database& db, int version);

// The quoted identifier of the entries table of cache `id` (in the attached "volatile" schema
// for a volatile cache).
std::string entries_table(std::int64_t id, bool is_volatile = false);

// SQL to create the entries table of cache `id` when it does not exist.
std::string create_entries_table(std::int64_t id, bool is_volatile = false);

// Brings the entries table of cache `id` to the current layout, keeping every entry: rebuilt
// when a version before 5 made it (a WITHOUT ROWID table, or one without the `used` column),
// given the `value_content` column when a version before 7 did. Inside the caller's write
// transaction. Returns whether it changed it.
bool upgrade_entries_table(sqlite::Database& db, std::int64_t id, bool is_volatile);

} // namespace cacheman::schema
