// The PostgreSQL engine: a namespace is a row set in the server's `cacheman` schema
// (PgSchema.hpp has the layout), shared by every machine that reaches the server. Each call of
// the engine interface is one transaction: readers in REPEATABLE READ (one snapshot), writers
// in READ COMMITTED after taking the namespace's write lock (a transaction-level advisory
// lock, so writers of one namespace take turns as on SQLite and a check-then-insert such as
// `depend`'s cycle check cannot race). A connection lost mid-call leaves none of its writes.
//
// Volatile caches are refused (UsageError): a shared store has no memory-only storage that
// every machine sees and no machine keeps.
//
// Built only into `cacheman-postgresql` (linking libpq costs the static `cacheman` start-up
// time it does not need for SQLite), which `cacheman` executes for a postgresql:// store.
//
// The calls are implemented in: PgEngine.cpp (opening, the namespace, the cache rows),
// PgEntries.cpp (entries, contents, limits, gc, lookup counts), PgGraph.cpp (the graph,
// settings, the catalog, history, check) and PgFlights.cpp (single flight by leases).
#pragma once

#include "engine/Engine.hpp"
#include "engine/postgres/PgConnection.hpp"
#include "engine/postgres/PgSchema.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace cacheman::postgres {

// What the engine needs to know of a cache to read or write its entries (the counterpart of
// sqlite::CacheRow).
struct CacheRow {
    std::int64_t id = 0;
    std::optional<double> next_expiry; // a lower bound of its entries' earliest expiry
    bool needs_build = false;          // has a builder that has not filled it since it was cleared
    bool counts_edits = false;         // auto-sync is on: edits are counted
    std::optional<std::int64_t> default_ttl_ms;
    std::int64_t generation = 0; // counted up by each clear of an invalidation
    std::optional<std::int64_t> max_entries;
    std::optional<std::int64_t> max_bytes;
    [[nodiscard]] bool has_limits() const { return max_entries || max_bytes; }
};

// A cache of a cascade: its name and its id.
struct CacheId {
    std::string name;
    std::int64_t id = 0;
};

// The columns of cacheman.caches that make a CacheRow, in the order read_cache_row reads them.
extern const char* const k_cache_row_columns;
// The CacheRow of the k_cache_row_columns that start at column `first` of row `row`.
CacheRow read_cache_row(const Rows& rows, int row, int first);
// An SQL expression for the server's clock in Unix seconds (what PgEngine::now() returns).
extern const char* const k_server_clock;

class PgEngine final : public engine::Engine {
  public:
    // Connects to `conninfo` (a libpq URL) for namespace `name_space`. With OpenMode::read
    // nothing is created (a missing layout or namespace reads as empty); otherwise the layout
    // is created or migrated when needed, and the namespace row when first written.
    PgEngine(const std::string& conninfo, std::string name_space, engine::OpenMode mode,
             const engine::EngineOptions& options);
    ~PgEngine() override;

    [[nodiscard]] std::string name() const override { return m_connection->name(); }
    double now() override;
    [[nodiscard]] bool settings_trusted() override;

    engine::Result<std::optional<engine::Entry>> get(std::string_view cache, std::string_view key,
                                                     engine::Access access) override;
    engine::Result<bool> read_value(std::string_view cache, std::string_view key,
                                    engine::Access access, const engine::ChunkSink& sink) override;
    engine::Result<std::optional<engine::Entry>>
    get_counted(std::string_view cache, std::string_view key, engine::Access access) override;
    engine::Result<bool> read_value_counted(std::string_view cache, std::string_view key,
                                            engine::Access access,
                                            const engine::ChunkSink& sink) override;
    engine::Result<std::vector<std::string>> keys(std::string_view cache,
                                                  engine::Access access) override;
    engine::Result<std::size_t> count(std::string_view cache, engine::Access access) override;
    engine::Status scan(std::string_view cache, engine::Access access,
                        const engine::EntryVisitor& visit) override;

    engine::Result<engine::Edited> apply(std::string_view cache, const engine::WriteSource& writes,
                                         engine::Access access,
                                         const std::optional<engine::Generation>& only_if) override;
    engine::Generation generation(std::string_view cache) override;
    engine::Result<engine::Edited> erase(std::string_view cache,
                                         const std::vector<std::string>& keys,
                                         engine::Access access) override;
    void replace_contents(std::string_view cache, const engine::WriteSource& writes,
                          bool built) override;

    void depend(std::string_view parent, std::string_view child) override;
    bool undepend(std::string_view parent, std::string_view child) override;
    engine::Result<std::vector<std::string>> invalidate(std::string_view cache,
                                                        const std::optional<std::string>& key,
                                                        bool dry_run,
                                                        std::string_view command) override;
    engine::Result<std::vector<std::string>> drop(std::string_view cache) override;
    engine::Result<engine::Dependencies> dependencies(std::string_view cache,
                                                      bool transitive) override;
    std::vector<Edge> edges() override;

    std::vector<engine::CacheSummary> list() override;
    std::optional<engine::CacheSettings> settings(std::string_view cache) override;
    void configure(std::string_view cache,
                   const std::function<void(engine::CacheSettings&)>& edit) override;

    engine::EditBuckets edit_counts(std::string_view cache) override;
    void forget_edit_counts(std::string_view cache, std::int64_t bucket) override;
    void saved(std::string_view cache) override;

    std::vector<engine::LogEntry> log(const std::optional<std::string>& cache,
                                      std::size_t limit) override;
    void count_lookup(std::string_view cache, std::optional<std::string_view> key,
                      bool hit) noexcept override;
    void fold_lookup_counts() override;

    void put_content(const std::string& digest, int fd, std::uint64_t size) override;
    bool read_content(const std::string& digest, const engine::ChunkSink& sink) override;

    engine::Removed collect_garbage(std::optional<std::int64_t> max_bytes) override;
    void compact() override;

    bool receive(const engine::NamespaceImage& image, bool replace) override;

    engine::CheckReport check() override;
    engine::Flights& flights() override;
    std::vector<std::string> namespaces() override;

  private:
    // --- PgEngine.cpp: the namespace and the cache rows -------------------------------------
    // The namespace's id, nullopt when it has no row yet (nothing was written to it).
    std::optional<std::int64_t> namespace_id();
    // Keeps what a probe of the server found (the layout, the namespace's id).
    void remember(const schema::Probe& found);
    // The namespace's id, creating its row (and the layout) when missing; inside a write
    // transaction, after write_lock().
    std::int64_t ensure_namespace();
    // Takes the namespace's write lock for the rest of the transaction (advisory, by name).
    void write_lock();
    // The test clock's time (options or CACHEMAN_NOW), or nullopt: the server's clock is used.
    [[nodiscard]] std::optional<double> local_clock() const;
    // The cache's row, nullopt when missing (or the namespace has none).
    std::optional<CacheRow> find_cache(std::string_view cache);
    // The cache's row, creating the cache with default settings when missing (write lock held).
    CacheRow ensure_cache(std::string_view cache);
    // Runs `body(row)` on the cache inside one transaction (a write takes the write lock
    // first): with `create`, creating the cache when missing; with Access::built, reporting an
    // unbuilt cache instead; with `only_if`, a cache of another generation is Status::changed
    // and nothing happens. Store errors name the cache.
    template <class Body>
    auto in_cache(std::string_view cache, PgTransaction::Kind kind, bool create,
                  engine::Access access, const std::optional<engine::Generation>& only_if,
                  Body&& body) -> engine::Result<decltype(body(std::declval<CacheRow&>()))>;

    // --- PgEntries.cpp: helpers ---------------------------------------------------------------
    // Private helpers of the entries' part are declared here, in this section only.
    // Each works inside the current transaction (a write one, after write_lock(), unless said).
    //
    // Folds the buffered lookups, then evicts the least recently used live entries of the cache
    // until it is within its limits (a no-op for a cache without limits).
    void enforce_limits(const CacheRow& row);
    // Removes every entry of the caches and the contents that only they referred to, and
    // forgets their expiry bounds (for the clears of invalidate, drop and replace_contents), in
    // a few statements whatever their number.
    void clear_entries(const std::vector<std::int64_t>& caches);
    // What look_up_at_once found, and whether it counted the lookup (count_lookup's work).
    struct AtOnce {
        engine::Result<std::optional<engine::Entry>> found;
        bool counted = false;
    };
    // The lookup of `key` in one statement outside any transaction (one snapshot: the
    // statement's), the namespace and the cache row with it, and with `count` the lookup
    // counted too: one round trip where in_cache and the fold take five. nullopt when it
    // cannot answer alone: inside a transaction, or the value is a content (streamed in a
    // transaction, which keeps it meanwhile; then nothing was counted).
    std::optional<AtOnce> look_up_at_once(std::string_view cache, std::string_view key,
                                          engine::Access access, bool count);
    // get and read_value as one read transaction (in_cache).
    engine::Result<std::optional<engine::Entry>>
    get_in_transaction(std::string_view cache, std::string_view key, engine::Access access);
    engine::Result<bool> read_in_transaction(std::string_view cache, std::string_view key,
                                             engine::Access access, const engine::ChunkSink& sink);
    // Writes the entries that `image` holds for `cache` into its (new) row, with the contents
    // they refer to.
    void receive_entries(const CacheRow& row, const std::string& cache,
                         const engine::NamespaceImage& image);
    // Removes the entry under `key` and the contents that only it referred to.
    engine::Removed remove_entry(const CacheRow& row, const std::string& key);
    // An SQL expression for the bytes of the entry row aliased `e` of cacheman.entries: its
    // value's length and the sizes of the contents it refers to (what list() reports).
    static const char* entry_bytes_sql();
    // Writes the buffered lookup counts and uses (m_pending_lookups) into the statistics and
    // the entries' order of use, and forgets them; the caches they name that are gone are skipped.
    void fold_pending_lookups();
    // The statements that fold_pending_lookups runs (one round trip), forgetting the lookups.
    std::vector<Statement> take_lookup_folds();

    // --- PgGraph.cpp: helpers -------------------------------------------------------------------
    // Private helpers of the graph's part are declared here, in this section only.
    //
    // Empties the caches whole as an invalidation does, at `when` (write lock held): their
    // entries and the contents only those referred to, their build and edit counts; a new
    // generation, and their saved copies no longer current.
    void clear_whole(const std::vector<CacheId>& caches, double when);
    // What the engine was opened with: the flights open a connection of their own to it.
    std::string m_conninfo;

    std::unique_ptr<PgConnection> m_connection;
    std::string m_namespace;
    engine::EngineOptions m_options;
    std::optional<std::int64_t> m_namespace_id; // once known
    bool m_probed = false;         // schema::probe has run (or a lookup that reads the same)
    bool m_layout_checked = false; // the layout exists, of a version this cacheman reads
    // Whether a lookup may count itself in its own statement (not for a role that may only
    // read, or a standby: its lookups are counted, or dropped, by the fold).
    bool m_lookups_count_themselves = true;
    std::unique_ptr<engine::Flights> m_flights;
    // Lookups counted by count_lookup, folded into the server at the end of the process (or by
    // fold_lookup_counts): cache name -> hits, misses, and the keys hit (their use).
    struct PendingLookups {
        std::int64_t hits = 0;
        std::int64_t misses = 0;
        std::set<std::string> used_keys;
    };
    std::map<std::string, PendingLookups, std::less<>> m_pending_lookups;
};

} // namespace cacheman::postgres
