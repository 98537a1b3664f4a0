// One namespace's store: a SQLite file holding caches (one entries table each), their metadata and
// the dependency edges between them. Every public function is one transaction: it happens whole
// or not at all, even if the process is killed half-way.
//
// "Not found" (NotFoundError, exit 1) means: the named cache does not exist, or (where a function
// says so) nothing matched. Bad names or input throw UsageError; storage failures StoreError.
#pragma once

#include "hooks/AutoSync.hpp"
#include "base/Duration.hpp"
#include "graph/Graph.hpp"
#include "base/Location.hpp"
#include "engine/sqlite/Stats.hpp"
#include "engine/sqlite/Database.hpp"
#include "engine/sqlite/Statement.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cacheman {

struct StoreOptions {
    // How long a writer waits for another process's write lock before failing (LockedError).
    int busy_timeout_ms = 10'000;
    // Unix time in seconds; the system clock when empty. Tests inject a fake one.
    std::function<double()> clock;
    // Where volatile caches keep their contents (see volatile_store_path), asked only when a
    // volatile cache is touched; empty (or returning ""): an in-memory database for this
    // process only.
    std::function<std::string()> volatile_path;
};

// A cache's settings: its hooks (shell commands), default expiry, volatility and auto-sync.
struct CacheSettings {
    std::optional<std::string> builder;
    std::optional<std::string> loader;
    std::optional<std::string> saver;
    std::optional<std::string> validator;
    std::optional<std::string> deleter;
    std::optional<std::string> pre_processor;
    std::optional<std::string> post_processor;
    std::optional<Duration> default_ttl;
    bool is_volatile = false;
    std::optional<bool> autosync;                          // nullopt: on when a saver is set
    std::optional<std::vector<TimeCheck>> autosync_checks; // nullopt: the seed's defaults

    [[nodiscard]] bool autosync_on() const { return saver && autosync.value_or(true); }
    [[nodiscard]] std::vector<TimeCheck> checks() const {
        return autosync_checks.value_or(default_time_checks());
    }
};

enum class OpenMode {
    read,   // never creates anything; a missing store reads as an empty one
    write,  // writes to an existing store; a missing store acts as an empty one (not created)
    create, // creates the directory (0700) and the store file (0600) when missing
};

struct CacheSummary {
    std::string name;
    std::int64_t entries = 0; // live entries
    std::int64_t bytes = 0;   // total size of their values
    std::vector<std::string> parents;
    std::vector<std::string> children;
    bool is_volatile = false;
    std::optional<double> invalidated; // unix seconds of the last clear by an invalidation
    std::int64_t hits = 0;             // folded lookup counts (see Stats.hpp)
    std::int64_t misses = 0;
};

// One invalidation in the log: which command cleared what, cascade included.
struct LogEntry {
    double at = 0;
    std::string command;
    std::string cache;
    std::vector<std::string> cleared;
};

// What `check` found; healthy when every list is empty and integrity is "ok".
struct CheckReport {
    std::vector<std::string> integrity; // PRAGMA integrity_check's lines
    int schema_version = 0;
    std::vector<std::string> problems; // orphan edges, missing or stray tables
    [[nodiscard]] bool healthy() const {
        return integrity.size() == 1 && integrity.front() == "ok" && problems.empty();
    }
};

struct Dependencies {
    std::vector<std::string> parents;
    std::vector<std::string> children;
};

// Reports how far a long operation has come: `done` of `total` entries (or lines).
using Progress = std::function<void(std::size_t done, std::size_t total)>;

class Store {
  public:
    // Opens the namespace at `location`. Throws StoreError when the directory or file cannot be
    // created or opened, when the file is not a cacheman store (it is then left untouched), or
    // when it was written by a newer cacheman.
    static Store open(const Location& location, OpenMode mode, StoreOptions options = {});
    // A store that lives in memory only (tests, and reads of a store that does not exist).
    static Store open_in_memory(StoreOptions options = {});

    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    ~Store();

    // --- reads -------------------------------------------------------------------------------
    // The live value of `key`, or nullopt when the key is missing or expired.
    // Throws NotFoundError when the cache does not exist.
    std::optional<std::string> get(std::string_view cache, std::string_view key);
    // The same, with the entry's expiry (unix seconds) when it has one.
    struct Entry {
        std::string value;
        std::optional<double> expires;
    };
    std::optional<Entry> get_entry(std::string_view cache, std::string_view key);
    [[nodiscard]] bool has_cache(std::string_view cache);
    // Live keys in byte order. Throws NotFoundError when the cache does not exist.
    std::vector<std::string> keys(std::string_view cache);
    // Every cache, sorted by name, with live counts and direct edges.
    std::vector<CacheSummary> list();
    // Direct parents and children, or with `transitive` every ancestor and descendant.
    Dependencies dependencies(std::string_view cache, bool transitive);
    // Writes the export format (JSON Lines, sorted by key) to `sink` in chunks.
    void export_entries(std::string_view cache, const std::function<void(std::string_view)>& sink,
                        const Progress& progress = {});

    // --- writes ------------------------------------------------------------------------------
    // Stores value under key, creating the cache when missing; with a ttl the entry expires.
    void set(std::string_view cache, std::string_view key, std::string_view value,
             std::optional<Duration> ttl = std::nullopt);
    // One edit of a batch: a value to store (expiring at `expires`, unix seconds), or, without
    // a value, a key to remove.
    struct Write {
        std::string key;
        std::optional<std::string> value;
        std::optional<double> expires;
    };
    // Applies every write in one transaction, creating the cache when missing. Each write counts
    // as one edit for auto-sync.
    void apply(std::string_view cache, const std::vector<Write>& writes);
    // Removes the given keys; returns how many live entries were removed.
    std::size_t erase(std::string_view cache, const std::vector<std::string>& keys);
    // Adds the edge parent -> child (creating missing caches); a no-op when present. Throws
    // UsageError naming the cycle path when the edge would close a cycle.
    void depend(std::string_view parent, std::string_view child);
    // Removes the edge. Throws NotFoundError when it does not exist.
    void undepend(std::string_view parent, std::string_view child);
    // Clears `cache` (or only `key` of it) and every cache that depends on it, transitively, in
    // one transaction. Returns the caches cleared: `cache` first, then its dependents with each
    // after its parents. With `dry_run` nothing changes.
    std::vector<std::string> invalidate(std::string_view cache,
                                        const std::optional<std::string>& key, bool dry_run,
                                        std::string_view command = "invalidate");
    // Clears the dependents of `cache`, then removes it with its entries and edges. Returns the
    // dependents cleared.
    std::vector<std::string> drop(std::string_view cache);
    // Adds the entries of `data` (the export format) in one transaction, creating the cache when
    // missing. Blank lines are skipped; a key given twice keeps its last value. A malformed line
    // refuses the whole import with UsageError("line N of SOURCE: ..."). Returns entries read.
    std::size_t import_entries(std::string_view cache, std::string_view data,
                               std::string_view source_name, const Progress& progress = {});

    // --- settings, hooks' plumbing ----------------------------------------------------------
    // Throws NotFoundError when the cache does not exist.
    CacheSettings settings(std::string_view cache);
    // Creates the cache when missing and applies `edit` to its settings, in one transaction.
    // Switching volatility moves the contents between the two files.
    void configure(std::string_view cache, const std::function<void(CacheSettings&)>& edit);
    // Called, outside any transaction, before a read or an edit of a cache that has a builder
    // and has not been built since it was last cleared (the hooks layer runs the builder).
    void set_build_hook(std::function<void(const std::string& cache)> hook);
    // The cache's contents in the export format.
    std::string contents(std::string_view cache);
    // Replaces the cache's contents with `data` (the export format) in one transaction; with
    // `built`, marks the cache as built. Throws UsageError naming the bad line.
    void replace_contents(std::string_view cache, std::string_view data,
                          std::string_view source_name, bool built);
    // Whether this Store counted edits of the cache for auto-sync (so a save may be due).
    [[nodiscard]] bool counted_edits(std::string_view cache) const;
    // Auto-sync edit counts (per second) of the cache, and forgetting them after a save.
    EditWindow::Buckets edit_counts(std::string_view cache);
    void clear_edit_counts(std::string_view cache);
    void forget_edit_counts_before(std::string_view cache, std::int64_t bucket);
    // --- introspection ---------------------------------------------------------------------
    // Every edge, by (parent, child).
    std::vector<Edge> edges();
    // The invalidation history, newest first: every entry, or those that named or cleared
    // `cache`; at most `limit`.
    std::vector<LogEntry> log(const std::optional<std::string>& cache, std::size_t limit);
    // Adds folded lookup counts.
    void add_lookup_counts(const std::map<std::string, LookupCounts>& counts);
    // Integrity, schema version, and consistency of the tables with each other.
    CheckReport check();
    // Whether the store file belongs to the user running cacheman (hooks refuse otherwise).
    [[nodiscard]] bool owned_by_current_user() const;

    [[nodiscard]] const std::string& path() const { return m_db->path(); }

  private:
    struct CacheRow {
        std::int64_t id = 0;
        std::optional<double> next_expiry;
        bool is_volatile = false;
        bool needs_build = false;
        bool counts_edits = false;
        std::optional<std::int64_t> default_ttl_ms;
    };

    Store(std::unique_ptr<sqlite::Database> db, StoreOptions options);

    // `file_size`: the store file's size when it was opened (0 for a new or in-memory one).
    void identify_or_initialise(std::int64_t file_size);
    // Attaches the volatile file when `cache` is volatile; with `build_first`, runs the build
    // hook when `cache` is unbuilt (as the seed builds on first access, so that no read and no
    // edit ever meets a cache its builder has not filled). Outside any transaction.
    void before_access(std::string_view cache, bool build_first);
    void before_cascade();
    void attach_volatile();
    [[nodiscard]] std::string table(const CacheRow& row) const;
    void count_edits(std::string_view cache, const CacheRow& row, std::int64_t count);
    void append_log(std::string_view command, std::string_view cache,
                    const std::vector<std::string>& cleared, double when);
    std::vector<std::string> with_dependents(std::string_view cache);
    void allow_large_transaction();
    void check_tables(CheckReport& report);
    // export_entries without the lazy build.
    void write_entries(std::string_view cache, const std::function<void(std::string_view)>& sink,
                       const Progress& progress);
    void clear_volatile_first(std::string_view cache, const std::optional<std::string>& key,
                              bool include_root);
    std::size_t insert_entries(CacheRow& row, std::string_view data, std::string_view source_name,
                               const Progress& progress = {});
    std::int64_t page_count();
    [[nodiscard]] double now() const;
    sqlite::Statement& prepared(const std::string& sql);

    std::optional<CacheRow> find_cache(std::string_view cache);
    CacheRow require_cache(std::string_view cache);
    CacheRow ensure_cache(std::string_view cache);
    Graph load_graph();
    void clear(const CacheRow& row, double when);
    void purge_expired_if_due(CacheRow& row);
    void note_expiry(CacheRow& row, double expires);

    std::unique_ptr<sqlite::Database> m_db;
    std::unordered_map<std::string, sqlite::Statement> m_statements;
    StoreOptions m_options;
    bool m_volatile_attached = false;
    std::function<void(const std::string&)> m_build_hook;
    std::set<std::string, std::less<>> m_counted_edits;
};

} // namespace cacheman
