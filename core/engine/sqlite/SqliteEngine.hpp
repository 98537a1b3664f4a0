// The SQLite engine: a namespace is one file, <dir>/<namespace>.sqlite (Schema.hpp has its
// layout), with volatile caches in a second file and single flight on lock files. Each call of
// the engine interface is one transaction (BEGIN IMMEDIATE for writers) over the parts below,
// each with one job: StoreFile (identity, migrations), Catalog (caches and settings), Entries,
// Cascade (the graph and invalidation), VolatileFile, History (log, statistics, edit counts),
// Check, and LookupCounts (the counts file that lookups append to instead of writing here).
#pragma once

#include "base/Location.hpp"
#include "engine/Engine.hpp"
#include "engine/sqlite/Cascade.hpp"
#include "engine/sqlite/Catalog.hpp"
#include "engine/sqlite/Connection.hpp"
#include "engine/sqlite/Contents.hpp"
#include "engine/sqlite/Entries.hpp"
#include "engine/sqlite/FlockFlight.hpp"
#include "engine/sqlite/History.hpp"
#include "engine/sqlite/LookupCounts.hpp"
#include "engine/sqlite/Transaction.hpp"
#include "engine/sqlite/VolatileFile.hpp"

#include <map>
#include <memory>
#include <set>
#include <string>

namespace cacheman::sqlite {

class SqliteEngine final : public engine::Engine {
  public:
    SqliteEngine(const Location& location, engine::OpenMode mode,
                 const engine::EngineOptions& options);
    // An empty store in memory (tests).
    explicit SqliteEngine(const engine::EngineOptions& options);

    [[nodiscard]] std::string name() const override { return m_connection->path(); }
    double now() override { return m_connection->now(); }
    [[nodiscard]] bool settings_trusted() override;

    engine::Result<std::optional<engine::Entry>> get(std::string_view cache, std::string_view key,
                                                     engine::Access access) override;
    engine::Result<bool> read_value(std::string_view cache, std::string_view key,
                                    engine::Access access, const engine::ChunkSink& sink) override;
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
    engine::Flights& flights() override { return *m_flights; }
    std::vector<std::string> namespaces() override;

  private:
    SqliteEngine(std::unique_ptr<Connection> connection, std::optional<Location> location);

    // Runs `body(row)` on the cache inside one transaction of `kind`: with `create`, creating
    // the cache when missing; with Access::built, reporting an unbuilt cache instead. A volatile
    // cache found before its file is attached ends the transaction, attaches, and starts over
    // (SQLite attaches outside transactions), so the decision is taken inside the transaction.
    // With `only_if`, a cache of another generation is Status::changed and nothing happens.
    template <class Body>
    auto in_cache(std::string_view cache, Transaction::Kind kind, bool create,
                  engine::Access access, const std::optional<engine::Generation>& only_if,
                  Body&& body) -> engine::Result<decltype(body(std::declval<CacheRow&>()))>;

    // The lookups counted since the last fold (the counts file is moved away).
    Lookups take_lookups();
    // Adds the counts to the statistics and the uses to the order of eviction (inside the
    // caller's write transaction). Uses of a volatile cache are dropped while its file is not
    // attached: the order is approximate by design.
    void fold_in(const Lookups& lookups);
    // Evicts what the cache's limits require, with the lookups counted so far folded in first.
    void enforce_limits(const CacheRow& row);

    std::unique_ptr<Connection> m_connection;
    std::optional<Location> m_location; // none for a store in memory
    VolatileFile m_volatile;
    Catalog m_catalog;
    Contents m_contents;
    Entries m_entries;
    History m_history;
    Cascade m_cascade;
    std::unique_ptr<engine::Flights> m_flights;
    // Lookups counted by a store in memory, which has no counts file: it lives in this process,
    // so its counts can too.
    Lookups m_unfolded_lookups;
    // The caches a lookup of this process found volatile: their hits are counted beside the
    // volatile file, so that their keys never reach persistent disk.
    std::set<std::string, std::less<>> m_volatile_read;
    // Where those are counted: <volatile file>.counts (only for a store on disk).
    std::string volatile_counts_path();
};

} // namespace cacheman::sqlite
