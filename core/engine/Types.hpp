// The plain data that crosses the engine interface (engine/Engine.hpp).
#pragma once

#include "base/Duration.hpp"
#include "graph/Graph.hpp"
#include "hooks/AutoSync.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::engine {

// How a command opens its store.
enum class OpenMode {
    read,   // never creates anything; a missing store reads as an empty one
    write,  // writes to an existing store; a missing store acts as an empty one (not created)
    create, // creates the store when missing
};

// What every engine is opened with.
struct EngineOptions {
    // How long a writer waits for another process's lock before failing (LockedError).
    int busy_timeout_ms = 10'000;
    // Unix time in seconds; when empty, unix_now()'s: the system clock or the test clock
    // (CACHEMAN_TEST=1, CACHEMAN_NOW). Tests inject a fake one.
    std::function<double()> clock;
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
    // Size limits (nullopt: none): after each write the least recently used entries are evicted
    // until the cache holds at most this many live entries and bytes of values.
    std::optional<std::int64_t> max_entries;
    std::optional<std::int64_t> max_bytes;

    // State rather than a setting (configure leaves it as it is): false after the cache was
    // cleared by an invalidation until its saver saves it again.
    bool saved_copy_current = true;

    [[nodiscard]] bool autosync_on() const { return saver && autosync.value_or(true); }
    [[nodiscard]] std::vector<TimeCheck> checks() const {
        return autosync_checks.value_or(default_time_checks());
    }
};

// Receives bytes piece by piece (a value, a content).
using ChunkSink = std::function<void(std::string_view bytes)>;

// Values larger than this live outside the entries' rows, as contents (content-addressed, in
// pieces of at most this size): the size of one value never slows the lookups of others, and
// no value is too large for the store's row limit.
constexpr std::size_t k_largest_inline_value = std::size_t{1} << 20;

struct Entry {
    std::string value;
    std::optional<double> expires; // unix seconds
};

struct LargeValue; // below

struct EntryView {
    std::string_view key;
    std::string_view value; // empty when the value is large (see stream)
    std::optional<double> expires;
    // Set for a large value: hands it to the sink in pieces, during the visit only.
    std::function<void(const ChunkSink&)> stream;
    // A large value's content address (empty when the value is in its row).
    std::string_view value_content;
    // The contents the entry refers to (its outputs' files, its large value's content), with
    // their sizes and readers; looked up only when called, usable during the visit only.
    std::function<std::vector<LargeValue>()> contents;

    // The value, piece by piece, whether large or not.
    void read(const ChunkSink& sink) const {
        if (stream) {
            stream(sink);
        } else {
            sink(value);
        }
    }
    // The whole value in memory.
    [[nodiscard]] std::string bytes() const {
        std::string out(value);
        if (stream) {
            stream([&out](std::string_view piece) { out.append(piece); });
        }
        return out;
    }
};

// A value handed over in pieces rather than whole (one from a file, in bounded memory): its
// content address and size, and how to read it. The engine keeps it as a content in the
// write's own transaction (reading it only when it does not hold those bytes already), and
// refuses it with StoreError when what `read` yields is not `size` bytes that hash to `digest`.
struct LargeValue {
    std::string digest;
    std::uint64_t size = 0;
    std::function<void(const ChunkSink&)> read;
};

// One edit of a batch: a value to store, or, without a value, a key to remove. The value
// expires at `expires` (unix seconds), else `ttl` after the write by the store's clock, else
// after the cache's default ttl, else never.
// `contents` are the content addresses of what the value refers to (kept by put_content
// before the write): they stay while the entry does, and count toward its bytes.
// With `large_value`, that is the value and `value` holds ""; a value larger than
// k_largest_inline_value given in `value` is moved to a content by the engine.
struct Write {
    std::string key;
    std::optional<std::string> value;
    std::optional<double> expires;
    std::optional<Duration> ttl;
    std::vector<std::string> contents;
    std::optional<LargeValue> large_value;
};

// The value of `write` that an engine keeps as a content: its large_value, or one made of a
// `value` larger than k_largest_inline_value (hashed here, read from the write, which must
// outlive it); nullopt for a removal or a value that stays in its row.
std::optional<LargeValue> content_value_of(const Write& write);

// A namespace as `copy` carries it to another store (Engine::receive): its caches with their
// settings, its edges, and each cache's entries.
struct CacheImage {
    std::string name;
    CacheSettings settings;
    bool built = true; // false: a builder that has not filled it since it was cleared
};
// Receives one entry: the write (absolute expiry; `contents` the addresses it refers to, a
// large value as large_value) and those contents, to be kept unless the store holds them.
using EntryFeed = std::function<void(const Write& write, const std::vector<LargeValue>& contents)>;
struct NamespaceImage {
    std::vector<CacheImage> caches;
    std::vector<Edge> edges;
    // Hands every live entry of the cache named to the feed, one at a time.
    std::function<void(const std::string& cache, const EntryFeed& feed)> entries;
};

struct CacheSummary {
    std::string name;
    std::int64_t entries = 0; // live entries
    std::int64_t bytes = 0;   // total size of their values and the contents they refer to
    std::vector<std::string> parents;
    std::vector<std::string> children;
    bool is_volatile = false;
    std::optional<double> invalidated; // unix seconds of the last clear by an invalidation
    std::int64_t hits = 0;             // folded lookup counts
    std::int64_t misses = 0;
};

struct Dependencies {
    std::vector<std::string> parents;
    std::vector<std::string> children;
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
    std::vector<std::string> integrity; // the store's own integrity check, line by line
    int schema_version = 0;
    std::vector<std::string> problems; // orphan edges, missing or stray tables
    [[nodiscard]] bool healthy() const {
        return integrity.size() == 1 && integrity.front() == "ok" && problems.empty();
    }
};

// What an edit changed: entries written or removed, and whether they were counted as edits for
// auto-sync (the cache has auto-sync on), so that the session knows a save may be due.
struct Edited {
    std::size_t changed = 0;
    bool counted = false;
};

// Which contents of a cache an operation saw: it changes whenever the cache is cleared by an
// invalidation (a cascade, a rebuild) or dropped. A missing cache has the default one.
struct Generation {
    std::int64_t cache_id = 0;
    std::int64_t count = 0;
    friend bool operator==(const Generation&, const Generation&) = default;
};

// What an eviction or a garbage collection removed: live and expired entries and the bytes of
// their values.
struct Removed {
    std::int64_t entries = 0;
    std::int64_t bytes = 0;
    Removed& operator+=(const Removed& other) {
        entries += other.entries;
        bytes += other.bytes;
        return *this;
    }
};

using EditBuckets = std::map<std::int64_t, std::int64_t>; // second (unix) -> edits

} // namespace cacheman::engine
