// The engine interface: every operation a command needs from a store, each one transaction
// (it happens whole or not at all, even if the process is killed half-way). The session
// (session/Namespace.hpp) applies the policies around these calls (lazy build, auto-sync,
// lookup counting); an engine only stores. Nothing above this interface knows which engine it
// talks to: SQLite (engine/sqlite/) is the first; a second one implements the same calls.
//
// Contract of every call:
// - Expected outcomes are return values, never exceptions: a missing cache is Status::no_cache,
//   a cache whose builder has not filled it (when the caller asked for built contents) is
//   Status::unbuilt and nothing was read or written, a missing key is an empty optional.
// - A bad cache name or key throws UsageError before anything is touched; a cycle throws
//   UsageError naming the path; the store failing throws StoreError (LockedError when another
//   process held the write lock past the busy timeout).
// - Cache names never reach the store's query language as code.
// - Writes that create caches create them with default settings.
#pragma once

#include "engine/Flight.hpp"
#include "engine/Types.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::engine {

enum class Status {
    ok,
    no_cache, // the cache does not exist
    unbuilt,  // the cache has a builder that has not filled it since it was last cleared
    changed,  // the cache is no longer of the generation the caller required: nothing written
};

// Whether a read or an edit of one cache may act on a cache its builder has not filled yet.
enum class Access {
    raw,   // act on the contents as they are (hooks' own plumbing, completions)
    built, // report Status::unbuilt instead, so that the session builds it first
};

template <class T> struct Result {
    Status status = Status::ok;
    T value{};
    [[nodiscard]] bool ok() const { return status == Status::ok; }
};

// Yields the writes of a batch one at a time (false when there are no more); may throw to
// abandon the batch, which then leaves nothing written. Lets a batch be produced while it is
// written (an import parses its input inside the transaction) instead of held in memory.
using WriteSource = std::function<bool(Write& next)>;
// Receives the entries of a cache in key (byte) order; the views are valid during the call.
using EntryVisitor = std::function<void(const EntryView& entry)>;

class Engine {
  public:
    virtual ~Engine() = default;
    Engine() = default;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // The store's name for messages: a file path, or user@host:port/dbname. Never a password.
    [[nodiscard]] virtual std::string name() const = 0;
    // Unix seconds by the store's clock (expiry and the log use it).
    virtual double now() = 0;
    // Whether hook commands may run from this store's settings: they were written by the user
    // running cacheman (the file is theirs).
    [[nodiscard]] virtual bool settings_trusted() = 0;

    // --- reads of one cache ----------------------------------------------------------------
    // The live entry under `key` (nullopt when missing or expired).
    virtual Result<std::optional<Entry>> get(std::string_view cache, std::string_view key,
                                             Access access) = 0;
    // Hands the live value under `key` to `sink` in pieces of at most 1 MiB, read in one
    // transaction, so memory stays bounded whatever its size; the value is false when there is
    // none (missing or expired).
    virtual Result<bool> read_value(std::string_view cache, std::string_view key, Access access,
                                    const ChunkSink& sink) = 0;
    // get and read_value, then count_lookup(cache, key, whether found) when the status is ok:
    // the lookups a user makes, which the statistics count. An engine may do both at once
    // (one round trip to a server rather than two).
    virtual Result<std::optional<Entry>> get_counted(std::string_view cache, std::string_view key,
                                                     Access access) {
        auto found = get(cache, key, access);
        if (found.ok()) {
            count_lookup(cache, key, found.value.has_value());
        }
        return found;
    }
    virtual Result<bool> read_value_counted(std::string_view cache, std::string_view key,
                                            Access access, const ChunkSink& sink) {
        auto found = read_value(cache, key, access, sink);
        if (found.ok()) {
            count_lookup(cache, key, found.value);
        }
        return found;
    }
    // Live keys in byte order.
    virtual Result<std::vector<std::string>> keys(std::string_view cache, Access access) = 0;
    // The number of live entries.
    virtual Result<std::size_t> count(std::string_view cache, Access access) = 0;
    // Visits the live entries in key order, in one read transaction (a consistent snapshot).
    virtual Status scan(std::string_view cache, Access access, const EntryVisitor& visit) = 0;

    // --- edits of one cache ----------------------------------------------------------------
    // Applies the batch in one transaction, creating the cache when missing. Each write counts
    // as one edit for auto-sync. With `only_if`, writes nothing and reports Status::changed
    // unless the cache is still of that generation. The default generation (the cache did not
    // exist) accepts any cache: nothing could have cleared it before it existed.
    virtual Result<Edited> apply(std::string_view cache, const WriteSource& writes, Access access,
                                 const std::optional<Generation>& only_if) = 0;
    // The cache's current generation (the default one when it does not exist).
    virtual Generation generation(std::string_view cache) = 0;
    // Removes the keys; `changed` is how many live entries were removed.
    virtual Result<Edited> erase(std::string_view cache, const std::vector<std::string>& keys,
                                 Access access) = 0;
    // Replaces the contents with the batch in one transaction, creating the cache when missing;
    // with `built`, marks the cache as built; forgets its auto-sync edit counts.
    virtual void replace_contents(std::string_view cache, const WriteSource& writes,
                                  bool built) = 0;

    // --- the graph ---------------------------------------------------------------------------
    // Adds parent -> child (creating missing caches); a no-op when present. Throws UsageError
    // naming the cycle path when the edge would close a cycle.
    virtual void depend(std::string_view parent, std::string_view child) = 0;
    // Removes the edge; false when it did not exist.
    virtual bool undepend(std::string_view parent, std::string_view child) = 0;
    // Clears `cache` (or only `key` of it) and every cache that depends on it, transitively, in
    // one transaction, and logs it as `command`. Returns the caches cleared: `cache` first, then
    // each dependent after its parents. With `dry_run` nothing changes.
    virtual Result<std::vector<std::string>> invalidate(std::string_view cache,
                                                        const std::optional<std::string>& key,
                                                        bool dry_run, std::string_view command) = 0;
    // Clears the dependents of `cache`, then removes it with its entries, edges, settings and
    // statistics. Returns the dependents cleared.
    virtual Result<std::vector<std::string>> drop(std::string_view cache) = 0;
    // Direct parents and children, or with `transitive` every ancestor and descendant.
    virtual Result<Dependencies> dependencies(std::string_view cache, bool transitive) = 0;
    // Every edge, by (parent, child).
    virtual std::vector<Edge> edges() = 0;

    // --- the catalog -------------------------------------------------------------------------
    // Every cache, sorted by name, with live counts, direct edges and statistics.
    virtual std::vector<CacheSummary> list() = 0;
    virtual std::optional<CacheSettings> settings(std::string_view cache) = 0;
    // Creates the cache when missing and applies `edit` to its settings, in one transaction.
    // Switching volatility moves the contents between the two kinds of storage. A builder
    // attached to a cache that holds entries leaves it built (the builder applies from the next
    // clear on).
    virtual void configure(std::string_view cache,
                           const std::function<void(CacheSettings&)>& edit) = 0;

    // --- auto-sync bookkeeping ----------------------------------------------------------------
    // Edit counts per second since the last save (empty for a missing cache).
    virtual EditBuckets edit_counts(std::string_view cache) = 0;
    // Forgets the counts older than `bucket`.
    virtual void forget_edit_counts(std::string_view cache, std::int64_t bucket) = 0;
    // The saver now holds the current contents: forgets every edit count and marks the saved
    // copy current (CacheSettings::saved_copy_current).
    virtual void saved(std::string_view cache) = 0;

    // --- history -----------------------------------------------------------------------------
    // The invalidation log, newest first: every entry, or those that named or cleared `cache`.
    virtual std::vector<LogEntry> log(const std::optional<std::string>& cache,
                                      std::size_t limit) = 0;
    // Counts one lookup of `cache`; a hit of `key` also counts as a use of that entry (the order
    // in which eviction keeps entries). Never fails, never blocks on a writer; may be buffered.
    virtual void count_lookup(std::string_view cache, std::optional<std::string_view> key,
                              bool hit) noexcept = 0;
    // Folds the buffered lookup counts into the statistics that list() reports, and the
    // buffered uses into the order of eviction.
    virtual void fold_lookup_counts() = 0;

    // --- contents (the files of `run --output`) ------------------------------------------------
    // Keeps the `size` bytes read from `fd` (from its start) under `digest`, their content
    // address (XXH3-128, 32 hex digits), unless they are kept already, in a transaction of its
    // own; either way they are kept for at least an hour, so that the write that refers to them
    // (Write::contents) can follow. Throws StoreError when the bytes read do not hash to
    // `digest` (the file changed meanwhile): nothing is kept then.
    virtual void put_content(const std::string& digest, int fd, std::uint64_t size) = 0;
    // Hands the bytes kept under `digest` to `sink` in pieces of at most 1 MiB, in one read
    // transaction; false when none are kept. Throws StoreError when they are damaged.
    virtual bool read_content(const std::string& digest, const ChunkSink& sink) = 0;

    // --- size --------------------------------------------------------------------------------
    // Every write of entries (apply, replace_contents) and every configure evicts, in its own
    // transaction, the least recently used entries (by last store or folded lookup) of a cache
    // that has limits until it is within them. Eviction is not an invalidation: nothing else is
    // cleared, nothing is logged, the generation stays.
    //
    // In one transaction: folds the buffered lookups, removes every expired entry, applies every
    // cache's limits and, with `max_bytes`, evicts the least recently used entries across the
    // namespace until its entries total at most that; removes the contents that nothing refers
    // to. Returns what it removed.
    virtual Removed collect_garbage(std::optional<std::int64_t> max_bytes) = 0;
    // Gives the space freed by removals back to the file system. Readers are never blocked;
    // writers may wait for it up to their busy timeout; a crash meanwhile loses nothing.
    virtual void compact() = 0;

    // --- moving a namespace between stores (copy) ------------------------------------------
    // Writes `image` as this namespace, in one transaction: its caches with their settings and
    // build state, their entries (expiry as given; the contents they refer to kept unless this
    // store holds them), its edges. Returns false and writes nothing when the namespace holds a
    // cache already, unless `replace`: then what it held is removed in the same transaction
    // (removed, not invalidated: nothing is logged). Throws UsageError for a volatile cache
    // (copy carries persistent caches only: volatile entries stay where they were made) or an
    // edge that closes a cycle.
    virtual bool receive(const NamespaceImage& image, bool replace) = 0;

    // --- health and single flight ------------------------------------------------------------
    // Integrity, schema version, and consistency of the store's parts with each other.
    virtual CheckReport check() = 0;
    // Single flight for `run` over this store.
    virtual Flights& flights() = 0;
    // The namespaces that have a store where this one lives (its directory, its server),
    // sorted; this one among them only once it has been written.
    virtual std::vector<std::string> namespaces() = 0;
};

} // namespace cacheman::engine
