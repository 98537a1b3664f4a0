// The session: one namespace opened for one command (or one library Manager), and the one place
// that applies the policies around a store operation, so that the command line and the C++
// library behave alike:
// - lazy build: a read or an edit of a cache whose builder has not filled it since it was last
//   cleared runs the builder first (as the seed builds on first access);
// - auto-sync: after an edit commits, the saver runs when the cache's auto-sync rules hold;
// - lookup counting: get, run and the library's lookups count as hits and misses;
// - hooks' order around the store: the deleter before a drop, the loader's fallbacks, ...;
// - trust: hook commands run only from settings the store says the user wrote.
// Storage itself is the engine's (engine/Engine.hpp); this layer never knows which engine.
//
// Expected outcomes are return values (engine::Result, Status::no_cache for a missing cache);
// errors are the exceptions of <cacheman/Error.hpp>.
#pragma once

#include "base/Location.hpp"
#include "base/Spool.hpp"
#include "engine/Engine.hpp"
#include "hooks/Hooks.hpp"
#include "jsonl/Json.hpp"
#include "run/Memoizer.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman {

// Reports how far a long operation has come: `done` of `total` entries.
using Progress = std::function<void(std::size_t done, std::size_t total)>;
using engine::Result;
using engine::Status;

class Namespace {
  public:
    // Opens the namespace at `location` (see engine::open_engine for what it throws).
    static std::unique_ptr<Namespace> open(const Location& location, engine::OpenMode mode,
                                           const engine::EngineOptions& options = {});
    // Whether this program links an engine for store URLs (cacheman-postgresql does; the
    // static cacheman executes it instead).
    static bool opens_store_urls();
    Namespace(std::unique_ptr<engine::Engine> engine, Location location);

    [[nodiscard]] const Location& location() const { return m_location; }
    // The store's name for messages (a path).
    [[nodiscard]] std::string store_name() const { return m_engine->name(); }
    double now() { return m_engine->now(); }

    // --- reads (lazy build) -------------------------------------------------------------------
    // The live entry; counted as a hit or a miss when the cache exists.
    Result<std::optional<engine::Entry>> get(std::string_view cache, std::string_view key);
    // As get, handing the value to `sink` in pieces (memory stays bounded); false: a miss.
    Result<bool> read_value(std::string_view cache, std::string_view key,
                            const engine::ChunkSink& sink);
    Result<std::vector<std::string>> keys(std::string_view cache);
    // The keys as stored: never builds, never runs a hook (shell completions).
    Result<std::vector<std::string>> stored_keys(std::string_view cache);
    Result<std::size_t> count(std::string_view cache);
    Status scan(std::string_view cache, const engine::EntryVisitor& visit);
    // Writes the export format (JSON Lines, sorted by key) to `sink` in chunks.
    Status export_entries(std::string_view cache,
                          const std::function<void(std::string_view)>& sink,
                          const Progress& progress = {});

    // --- edits (lazy build first, auto-sync after) --------------------------------------------
    void set(std::string_view cache, std::string_view key, std::string_view value,
             std::optional<Duration> ttl = std::nullopt);
    // Sets a value gathered in a spool: one that outgrew memory is kept as a content first, so
    // that it is never whole in memory.
    void set(std::string_view cache, std::string_view key, Spool& value,
             std::optional<Duration> ttl = std::nullopt);
    void apply(std::string_view cache, const std::vector<engine::Write>& writes);
    // Adds the entries of `data` (the export format) in one transaction; a malformed line
    // refuses the whole import with UsageError naming it. Returns the entries read. `release`
    // is told how far `data` has been read (a mapped input gives that memory back); a value
    // longer than json::k_largest_value_in_memory is gathered in a temporary file.
    std::size_t import_entries(std::string_view cache, std::string_view data,
                               const std::string& source_name, const Progress& progress = {},
                               const json::Release& release = {});
    // Removes the keys; the value is how many live entries were removed.
    Result<std::size_t> erase(std::string_view cache, const std::vector<std::string>& keys);

    // --- the graph ------------------------------------------------------------------------------
    void depend(std::string_view parent, std::string_view child);
    bool undepend(std::string_view parent, std::string_view child);
    Result<std::vector<std::string>> invalidate(std::string_view cache,
                                                const std::optional<std::string>& key,
                                                bool dry_run);
    // Runs the deleter, then drops the cache (its dependents are cleared).
    Result<std::vector<std::string>> drop(std::string_view cache);
    Result<engine::Dependencies> dependencies(std::string_view cache, bool transitive);
    std::vector<Edge> edges();

    // --- caches and their hooks -----------------------------------------------------------------
    std::vector<engine::CacheSummary> list();
    // The namespaces of the store this one lives in (see engine::Engine::namespaces).
    std::vector<std::string> namespaces() { return m_engine->namespaces(); }
    // list(), with the lookups counted so far folded in first.
    std::vector<engine::CacheSummary> stats();
    std::optional<engine::CacheSettings> settings(std::string_view cache);
    void configure(std::string_view cache, const std::function<void(engine::CacheSettings&)>& edit);
    // Runs the builder (its output, post-processed, becomes the contents) and clears the
    // dependents; without a builder, empties the cache and clears its dependents.
    Status rebuild(std::string_view cache);
    // Loads through loader and validator, falling back to the builder (see the contract).
    // Returns the reasons it fell back. With `cascade`, dependents are reloaded first.
    Result<std::vector<std::string>> reload(std::string_view cache, bool cascade);
    // Pipes the contents through the pre-processor into the saver (a no-op without a saver).
    // With `cascade`, dependents are saved first.
    Status save(std::string_view cache, bool cascade);

    // --- history, health ------------------------------------------------------------------------
    std::vector<engine::LogEntry> log(const std::optional<std::string>& cache, std::size_t limit);
    engine::CheckReport check();
    // Removes expired entries, applies every cache's limits and, with `max_bytes`, a
    // namespace-wide least-recently-used bound (one transaction); then gives the freed space
    // back to the file system. Returns what it removed.
    engine::Removed gc(std::optional<std::int64_t> max_bytes);

    // --- copy -----------------------------------------------------------------------------------
    // What a copy carried.
    struct Copied {
        std::size_t caches = 0;
        std::size_t entries = 0;
        std::size_t edges = 0;
    };
    // Copies this namespace (caches with their settings and build state, live entries with
    // their expiry, the contents they refer to, edges) into the namespace `receiver` opens
    // (called once this one is known to hold caches, so that nothing is created for nothing),
    // committed there in one transaction; never runs a hook, counts no lookup. Returns
    // nullopt, writing nothing, when the receiver holds caches already and `replace` is false
    // (with it, they are replaced in that transaction). Throws NotFoundError when this
    // namespace holds no cache, UsageError for the same store or a volatile cache (its entries
    // stay where they were made), and StoreError for hooks written by another user or role
    // (the receiver would trust them) or a namespace that kept being invalidated while read.
    std::optional<Copied> copy_to(const std::function<Namespace&()>& receiver, bool replace);

    // --- run ------------------------------------------------------------------------------------
    // Replays or executes a memoized command (see run/Memoizer.hpp); storing its result is an
    // edit like any other (auto-sync), and its lookup is counted.
    RunOutcome run(const RunRequest& request, const OutputSink& out, const OutputSink& err,
                   const std::function<void()>& start_refresh);
    Explanation explain(const RunRequest& request);

  private:
    class Results;

    // Calls `call(access)`; when it reports an unbuilt cache, builds it and calls again.
    template <class Call> auto built(std::string_view cache, Call&& call);
    void build(std::string_view cache);
    // Replaces the contents with a hook's output; refused output is a HookError.
    void replace(std::string_view cache, Spool& contents, const std::string& source, bool built);
    void after_edit(std::string_view cache, bool counted);
    // The raw contents in the export format, gathered in a spool (bounded memory).
    Hooks::Contents contents(std::string_view cache);
    std::vector<std::string> dependents_first(std::string_view cache);

    std::unique_ptr<engine::Engine> m_engine;
    Location m_location;
    Hooks m_hooks;
    bool m_trusted = false;
};

} // namespace cacheman
