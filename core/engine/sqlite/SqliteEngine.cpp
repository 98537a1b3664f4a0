#include "engine/sqlite/SqliteEngine.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"
#include "engine/sqlite/Check.hpp"
#include "engine/sqlite/LookupCounts.hpp"
#include "engine/sqlite/Schema.hpp"
#include "engine/sqlite/Statement.hpp"
#include "engine/sqlite/StoreFile.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace cacheman::sqlite {

using engine::Access;
using engine::Result;
using engine::Status;

namespace {

std::function<std::string()> volatile_path_of(const std::optional<Location>& location) {
    if (!location) {
        return {};
    }
    return [where = *location] { return volatile_store_path(where, process_env); };
}

// Single flight for a store in memory: no other process can reach it, so every caller leads.
class SoloFlights final : public engine::Flights {
  public:
    std::unique_ptr<engine::Flight> join(const std::string&) override {
        return std::make_unique<engine::SoloFlight>();
    }
    std::unique_ptr<engine::Flight> try_lead(const std::string&) override {
        return std::make_unique<engine::SoloFlight>();
    }
};

std::unique_ptr<engine::Flights> flights_of(const std::optional<Location>& location) {
    if (!location) {
        return std::make_unique<SoloFlights>();
    }
    return std::make_unique<FlockFlights>(location->flights_dir());
}

} // namespace

SqliteEngine::SqliteEngine(std::unique_ptr<Connection> connection, std::optional<Location> location)
    : m_connection(std::move(connection)), m_location(std::move(location)),
      m_volatile(*m_connection, volatile_path_of(m_location)), m_catalog(*m_connection),
      m_contents(*m_connection), m_entries(*m_connection, m_contents), m_history(*m_connection),
      m_cascade(*m_connection, m_catalog, m_entries, m_history, m_volatile),
      m_flights(flights_of(m_location)) {}

SqliteEngine::SqliteEngine(const Location& location, engine::OpenMode mode,
                           const engine::EngineOptions& options)
    : SqliteEngine(open_store_file(location.dir, location.path(), mode, options.busy_timeout_ms,
                                   options.clock),
                   location) {}

SqliteEngine::SqliteEngine(const engine::EngineOptions& options)
    : SqliteEngine(open_in_memory(options.busy_timeout_ms, options.clock), std::nullopt) {}

std::vector<std::string> SqliteEngine::namespaces() {
    return m_location ? list_namespaces(m_location->dir) : std::vector<std::string>{};
}

bool SqliteEngine::settings_trusted() {
    if (!m_location || name() == ":memory:") {
        return true;
    }
    struct stat info {};
    return stat(name().c_str(), &info) == 0 && info.st_uid == geteuid();
}

namespace {

engine::Generation generation_of(const std::optional<CacheRow>& row) {
    return row ? engine::Generation{row->id, row->generation} : engine::Generation{};
}

} // namespace

template <class Body>
auto SqliteEngine::in_cache(std::string_view cache, Transaction::Kind kind, bool create,
                            Access access, const std::optional<engine::Generation>& only_if,
                            Body&& body) -> Result<decltype(body(std::declval<CacheRow&>()))> {
    using Value = decltype(body(std::declval<CacheRow&>()));
    validate_cache_name(cache);
    while (true) {
        Transaction tx(m_connection->db(), kind);
        std::optional<CacheRow> row = m_catalog.find(cache);
        if (only_if && *only_if != engine::Generation{} && generation_of(row) != *only_if) {
            return {Status::changed, Value{}};
        }
        if (!row && create) {
            row = m_catalog.ensure(cache);
        }
        if (!row) {
            return {Status::no_cache, Value{}};
        }
        if (row->is_volatile && !m_volatile.attached()) {
            tx.rollback();
            m_volatile.attach();
            continue;
        }
        if (row->is_volatile && kind == Transaction::Kind::read &&
            !m_volatile.holds_table_of(row->id)) {
            tx.rollback(); // the two files' snapshots disagree for a moment (VolatileFile.hpp)
            continue;
        }
        if (access == Access::built && row->needs_build) {
            return {Status::unbuilt, Value{}};
        }
        try {
            Value value = body(*row);
            tx.commit();
            return {Status::ok, std::move(value)};
        } catch (const StoreError& error) {
            rethrow_with_context(error, std::string(kind == Transaction::Kind::write
                                                        ? "cannot write cache "
                                                        : "cannot read cache ") +
                                            quoted_for_message(cache) + ": ");
        }
    }
}

Result<std::optional<engine::Entry>> SqliteEngine::get(std::string_view cache, std::string_view key,
                                                       Access access) {
    validate_key(key);
    return in_cache(cache, Transaction::Kind::read, false, access, std::nullopt,
                    [&](CacheRow& row) {
                        if (row.is_volatile) {
                            m_volatile_read.emplace(cache);
                        }
                        return m_entries.get(row, key);
                    });
}

engine::Result<bool> SqliteEngine::read_value(std::string_view cache, std::string_view key,
                                              Access access, const engine::ChunkSink& sink) {
    validate_key(key);
    return in_cache(cache, Transaction::Kind::read, false, access, std::nullopt,
                    [&](CacheRow& row) {
                        if (row.is_volatile) {
                            m_volatile_read.emplace(cache); // its use is counted beside it
                        }
                        return m_entries.read_value(row, key, sink);
                    });
}

Result<std::vector<std::string>> SqliteEngine::keys(std::string_view cache, Access access) {
    return in_cache(cache, Transaction::Kind::read, false, access, std::nullopt,
                    [&](CacheRow& row) { return m_entries.keys(row); });
}

Result<std::size_t> SqliteEngine::count(std::string_view cache, Access access) {
    return in_cache(cache, Transaction::Kind::read, false, access, std::nullopt,
                    [&](CacheRow& row) { return m_entries.count(row); });
}

Status SqliteEngine::scan(std::string_view cache, Access access,
                          const engine::EntryVisitor& visit) {
    return in_cache(cache, Transaction::Kind::read, false, access, std::nullopt,
                    [&](CacheRow& row) {
                        m_entries.scan(row, visit);
                        return true;
                    })
        .status;
}

Result<engine::Edited> SqliteEngine::apply(std::string_view cache,
                                           const engine::WriteSource& writes, Access access,
                                           const std::optional<engine::Generation>& only_if) {
    m_connection->allow_large_transaction();
    return in_cache(cache, Transaction::Kind::write, true, access, only_if, [&](CacheRow& row) {
        if (row.has_limits()) {
            fold_in(take_lookups()); // the uses before this write come before its entries
        }
        const std::size_t applied = m_entries.apply(row, writes, m_entries.use_tick());
        m_entries.evict(row);
        m_history.count_edits(row, static_cast<std::int64_t>(applied));
        return engine::Edited{applied, row.counts_edits && applied > 0};
    });
}

Result<engine::Edited> SqliteEngine::erase(std::string_view cache,
                                           const std::vector<std::string>& keys, Access access) {
    for (const auto& key : keys) {
        validate_key(key);
    }
    return in_cache(cache, Transaction::Kind::write, false, access, std::nullopt,
                    [&](CacheRow& row) {
                        const std::size_t removed = m_entries.erase(row, keys);
                        m_history.count_edits(row, static_cast<std::int64_t>(removed));
                        return engine::Edited{removed, row.counts_edits && removed > 0};
                    });
}

void SqliteEngine::replace_contents(std::string_view cache, const engine::WriteSource& writes,
                                    bool built) {
    m_connection->allow_large_transaction();
    in_cache(cache, Transaction::Kind::write, true, Access::raw, std::nullopt, [&](CacheRow& row) {
        m_entries.clear(row);
        m_entries.apply(row, writes, m_entries.use_tick());
        m_entries.evict(row);
        m_catalog.set_built(row, built);
        m_history.forget_edits(row);
        return true;
    });
}

void SqliteEngine::depend(std::string_view parent, std::string_view child) {
    validate_cache_name(parent);
    validate_cache_name(child);
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    m_cascade.depend(parent, child);
    tx.commit();
}

bool SqliteEngine::undepend(std::string_view parent, std::string_view child) {
    validate_cache_name(parent);
    validate_cache_name(child);
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    const bool removed = m_cascade.undepend(parent, child);
    tx.commit();
    return removed;
}

Result<std::vector<std::string>> SqliteEngine::invalidate(std::string_view cache,
                                                          const std::optional<std::string>& key,
                                                          bool dry_run, std::string_view command) {
    validate_cache_name(cache);
    if (key) {
        validate_key(*key);
    }
    auto cleared = m_cascade.invalidate(cache, key, dry_run, command);
    if (!cleared) {
        return {Status::no_cache, {}};
    }
    return {Status::ok, std::move(*cleared)};
}

Result<std::vector<std::string>> SqliteEngine::drop(std::string_view cache) {
    validate_cache_name(cache);
    auto cleared = m_cascade.drop(cache);
    if (!cleared) {
        return {Status::no_cache, {}};
    }
    return {Status::ok, std::move(*cleared)};
}

Result<engine::Dependencies> SqliteEngine::dependencies(std::string_view cache, bool transitive) {
    validate_cache_name(cache);
    Transaction tx(m_connection->db(), Transaction::Kind::read);
    if (!m_catalog.find(cache)) {
        return {Status::no_cache, {}};
    }
    const Graph graph = m_cascade.graph();
    const std::string name(cache);
    if (!transitive) {
        return {Status::ok, {graph.parents(name), graph.children(name)}};
    }
    return {Status::ok, {graph.ancestors(name), graph.descendants(name)}};
}

std::vector<Edge> SqliteEngine::edges() {
    Transaction tx(m_connection->db(), Transaction::Kind::read);
    return m_cascade.edges();
}

std::vector<engine::CacheSummary> SqliteEngine::list() {
    m_volatile.attach_if_any();
    Transaction tx(m_connection->db(), Transaction::Kind::read);
    auto summaries = m_catalog.summaries();
    std::vector<CacheRow> rows;
    rows.reserve(summaries.size());
    for (const auto& summary : summaries) {
        rows.push_back(m_catalog.existing(summary.name));
        if (rows.back().is_volatile && !m_volatile.attached()) {
            // Made volatile by another process since attach_if_any: attach, and read again.
            tx.rollback();
            m_volatile.attach();
            return list();
        }
        if (rows.back().is_volatile && !m_volatile.holds_table_of(rows.back().id)) {
            tx.rollback(); // the two files' snapshots disagree for a moment (VolatileFile.hpp)
            return list();
        }
    }
    const auto totals = m_entries.totals(rows);
    const Graph graph = m_cascade.graph();
    for (std::size_t i = 0; i < summaries.size(); ++i) {
        summaries[i].entries = totals[i].entries;
        summaries[i].bytes = totals[i].bytes;
        summaries[i].parents = graph.parents(summaries[i].name);
        summaries[i].children = graph.children(summaries[i].name);
    }
    return summaries;
}

std::optional<engine::CacheSettings> SqliteEngine::settings(std::string_view cache) {
    validate_cache_name(cache);
    return m_catalog.settings(cache);
}

void SqliteEngine::configure(std::string_view cache,
                             const std::function<void(engine::CacheSettings&)>& edit) {
    validate_cache_name(cache);
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    CacheRow row = m_catalog.ensure(cache);
    engine::CacheSettings settings = *m_catalog.settings(cache);
    const engine::CacheSettings before = settings;
    edit(settings);
    if ((before.is_volatile || settings.is_volatile) && !m_volatile.attached()) {
        // Only a volatile cache, or one becoming or ceasing to be volatile, needs the volatile
        // file, which is attached outside a transaction: decided here, under the write lock, and
        // the edit made again once it is attached (a persistent cache never creates the file).
        tx.rollback();
        m_volatile.attach();
        configure(cache, edit);
        return;
    }
    m_catalog.write_settings(row, settings);
    if (!before.builder && settings.builder && m_entries.count(row) > 0) {
        // Entries stored before a builder was attached are kept: the builder applies from the
        // next rebuild or invalidation on.
        m_catalog.set_built(row, true);
    }
    if (before.is_volatile != settings.is_volatile) {
        CacheRow moved = row;
        moved.is_volatile = settings.is_volatile;
        m_connection->db().exec(schema::create_entries_table(row.id, moved.is_volatile));
        // Columns by name: a table migrated from schema version 3 has `used` last.
        const std::string columns = "key, expires, used, value, value_content";
        m_connection->db().exec("INSERT INTO " + Catalog::table(moved) + "(" + columns +
                                ") SELECT " + columns + " FROM " + Catalog::table(row));
        m_connection->db().exec("DROP TABLE " + Catalog::table(row));
    }
    if (settings.max_entries || settings.max_bytes) {
        enforce_limits(*m_catalog.find(cache)); // new limits hold from now on
    }
    tx.commit();
}

engine::EditBuckets SqliteEngine::edit_counts(std::string_view cache) {
    validate_cache_name(cache);
    Transaction tx(m_connection->db(), Transaction::Kind::read);
    const auto row = m_catalog.find(cache);
    return row ? m_history.edit_counts(*row) : engine::EditBuckets{};
}

engine::Generation SqliteEngine::generation(std::string_view cache) {
    validate_cache_name(cache);
    Transaction tx(m_connection->db(), Transaction::Kind::read);
    return generation_of(m_catalog.find(cache));
}

void SqliteEngine::saved(std::string_view cache) {
    validate_cache_name(cache);
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    if (const auto row = m_catalog.find(cache)) {
        m_history.forget_edits(*row);
        m_catalog.set_saved_current(*row, true);
    }
    tx.commit();
}

void SqliteEngine::forget_edit_counts(std::string_view cache, std::int64_t bucket) {
    validate_cache_name(cache);
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    if (const auto row = m_catalog.find(cache)) {
        m_history.forget_edits(*row, bucket);
    }
    tx.commit();
}

std::vector<engine::LogEntry> SqliteEngine::log(const std::optional<std::string>& cache,
                                                std::size_t limit) {
    Transaction tx(m_connection->db(), Transaction::Kind::read);
    return m_history.log(cache, limit);
}

void SqliteEngine::count_lookup(std::string_view cache, std::optional<std::string_view> key,
                                bool hit) noexcept {
    try {
        if (!m_location) {
            m_unfolded_lookups.add(cache, key, hit);
        } else if (m_volatile_read.find(cache) != m_volatile_read.end()) {
            cacheman::count_lookup(volatile_counts_path(), cache, key, hit);
        } else {
            cacheman::count_lookup(counts_path(*m_location), cache, key, hit);
        }
    } catch (...) {
        // Counting must never make a lookup fail.
    }
}

std::string SqliteEngine::volatile_counts_path() {
    return volatile_store_path(*m_location, process_env) + ".counts";
}

Lookups SqliteEngine::take_lookups() {
    if (!m_location) {
        return std::exchange(m_unfolded_lookups, {});
    }
    Lookups lookups;
    take_counts(counts_path(*m_location), lookups);
    if (m_volatile.attached()) {
        take_counts(volatile_counts_path(), lookups);
    }
    return lookups;
}

void SqliteEngine::fold_in(const Lookups& lookups) {
    m_history.add_lookup_counts(lookups.counts);
    if (lookups.uses.empty()) {
        return;
    }
    // Each entry once, at its last use; the ticks follow the order of the uses.
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> last;
    for (std::size_t i = 0; i < lookups.uses.size(); ++i) {
        last[{lookups.uses[i].first, lookups.uses[i].second}] = i;
    }
    const auto count = static_cast<std::int64_t>(lookups.uses.size());
    const std::int64_t first = m_entries.use_tick(count) - count + 1;
    std::map<std::string_view, std::vector<std::pair<std::string, std::int64_t>>> by_cache;
    for (const auto& [use, index] : last) {
        by_cache[use.first].emplace_back(use.second, first + static_cast<std::int64_t>(index));
    }
    for (const auto& [cache, uses] : by_cache) {
        const auto row = m_catalog.find(cache);
        if (row && (!row->is_volatile || m_volatile.attached())) {
            m_entries.note_uses(*row, uses);
        }
    }
}

void SqliteEngine::enforce_limits(const CacheRow& row) {
    fold_in(take_lookups());
    m_entries.evict(row);
}

void SqliteEngine::fold_lookup_counts() {
    m_volatile.attach_if_any();
    const auto lookups = take_lookups();
    if (lookups.empty()) {
        return;
    }
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    fold_in(lookups);
    tx.commit();
}

engine::Removed SqliteEngine::collect_garbage(std::optional<std::int64_t> max_bytes) {
    m_volatile.attach_if_any();
    m_connection->allow_large_transaction();
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    std::vector<CacheRow> rows;
    for (const auto& summary : m_catalog.summaries()) {
        rows.push_back(m_catalog.existing(summary.name));
        if (rows.back().is_volatile && !m_volatile.attached()) {
            // Made volatile by another process since attach_if_any: attach, and start over.
            tx.rollback();
            m_volatile.attach();
            return collect_garbage(max_bytes);
        }
    }
    fold_in(take_lookups());
    engine::Removed removed;
    for (auto& row : rows) {
        removed += m_entries.purge_expired(row);
        removed += m_entries.evict(row);
    }
    if (max_bytes) {
        removed += m_entries.evict_across(rows, *max_bytes);
    }
    for (const auto& row : rows) {
        if (!row.is_volatile || m_volatile.attached()) {
            m_contents.release_dangling(row); // a volatile file lost at reboot, say
        }
    }
    removed.bytes += m_contents.sweep();
    tx.commit();
    return removed;
}

namespace {
// How long a content kept for a write is safe from removal before that write refers to it.
constexpr double k_content_pin_seconds = 3600;
} // namespace

bool SqliteEngine::receive(const engine::NamespaceImage& image, bool replace) {
    m_volatile.attach_if_any(); // a replaced volatile cache is cleared in its file
    m_connection->allow_large_transaction();
    m_connection->use_small_cache(); // contents and large values pass through, once
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    const auto held = m_catalog.summaries();
    if (!held.empty() && !replace) {
        return false;
    }
    for (const auto& summary : held) {
        const CacheRow row = m_catalog.existing(summary.name);
        if (row.is_volatile && !m_volatile.attached()) {
            // Made volatile by another process since attach_if_any: attach, and start over.
            tx.rollback();
            m_volatile.attach();
            return receive(image, replace);
        }
        m_cascade.remove(summary.name, row);
    }
    const std::int64_t tick = m_entries.use_tick();
    const double pin_until = m_connection->now() + k_content_pin_seconds;
    for (const auto& cache : image.caches) {
        validate_cache_name(cache.name);
        if (cache.settings.is_volatile) {
            throw UsageError("cache " + quoted_for_message(cache.name) +
                             " is volatile: its entries stay where they were made");
        }
        // Entries first, with the default settings of a new cache: a default ttl must not
        // reach entries that never expire.
        CacheRow row = m_catalog.ensure(cache.name);
        image.entries(cache.name, [&](const engine::Write& write,
                                      const std::vector<engine::LargeValue>& contents) {
            for (const auto& content : contents) {
                m_contents.put(content.digest, content.size, pin_until, content.read);
            }
            bool given = false;
            m_entries.apply(row, [&](engine::Write& next) {
                next = write;
                return !std::exchange(given, true);
            }, tick);
        });
        m_catalog.write_settings(row, cache.settings);
        m_catalog.set_built(row, cache.built);
    }
    for (const auto& edge : image.edges) {
        m_cascade.depend(edge.parent, edge.child);
    }
    tx.commit();
    return true;
}

void SqliteEngine::put_content(const std::string& digest, int fd, std::uint64_t size) {
    m_connection->use_small_cache();
    Transaction tx(m_connection->db(), Transaction::Kind::write);
    m_contents.put(digest, fd, size, m_connection->now() + k_content_pin_seconds);
    tx.commit();
}

bool SqliteEngine::read_content(const std::string& digest, const engine::ChunkSink& sink) {
    Transaction tx(m_connection->db(), Transaction::Kind::read);
    const bool found = m_contents.read(digest, sink);
    tx.commit();
    return found;
}

namespace {

// Up to this many free pages (16 MB of 4 KB pages) are given back by incremental vacuum, in
// one short write transaction; more by a VACUUM. Measured (bench/README.md): SQLite's
// incremental vacuum slows down with the size of the free list (a step of 4096 pages of a
// 250 MB free list took 0.47 s, the whole VACUUM keeping 25 MB 0.24 s), while a VACUUM costs
// about the size of what is kept.
constexpr std::int64_t k_incremental_pages = 4096;

std::int64_t pragma_int(Connection& connection, const std::string& pragma) {
    Statement query(connection.db(), "PRAGMA " + pragma);
    query.step();
    const std::int64_t value = query.column_int(0);
    query.reset();
    return value;
}

void compact_schema(Connection& connection, const std::string& schema) {
    const std::int64_t free_pages = pragma_int(connection, schema + ".freelist_count");
    if (free_pages == 0) {
        return;
    }
    constexpr std::int64_t k_incremental = 2;
    if (free_pages <= k_incremental_pages &&
        pragma_int(connection, schema + ".auto_vacuum") == k_incremental) {
        connection.db().exec("PRAGMA " + schema + ".incremental_vacuum");
    } else {
        // One transaction: the WAL holds the new copy until it commits, so a crash leaves the
        // store as it was; readers go on reading their snapshot meanwhile. The first one also
        // switches the file to incremental auto-vacuum, for the small frees after it.
        connection.db().exec("PRAGMA " + schema + ".auto_vacuum = INCREMENTAL; VACUUM " + schema);
    }
    // The file shrinks when the WAL is copied back into it. A passive checkpoint never waits:
    // with a reader still in an older snapshot it copies what it can, and the last connection
    // to close (or the next checkpoint) finishes it.
    connection.db().exec("PRAGMA " + schema + ".wal_checkpoint(PASSIVE)");
}

} // namespace

void SqliteEngine::compact() {
    m_volatile.attach_if_any();
    compact_schema(*m_connection, "main");
    if (m_volatile.attached()) {
        compact_schema(*m_connection, "volatile");
    }
}

engine::CheckReport SqliteEngine::check() {
    m_volatile.attach_if_any();
    return check_store(*m_connection);
}

} // namespace cacheman::sqlite
