#include "engine/postgres/PgEngine.hpp"

#include "base/Clock.hpp"
#include "base/Error.hpp"
#include "base/Names.hpp"
#include "engine/postgres/PgInCache.hpp"
#include "engine/Open.hpp"
#include "engine/postgres/PgSchema.hpp"

#include <utility>

namespace cacheman::postgres {

const char* const k_cache_row_columns =
    "id, next_expiry, (builder IS NOT NULL AND NOT built), "
    "(saver IS NOT NULL AND coalesce(autosync, true)), default_ttl_ms, generation, max_entries, "
    "max_bytes";

namespace {

CacheRow read_cache_row(const Rows& rows, int row) {
    CacheRow cache;
    cache.id = rows.integer(row, 0);
    cache.next_expiry = rows.optional_real(row, 1);
    cache.needs_build = rows.boolean(row, 2);
    cache.counts_edits = rows.boolean(row, 3);
    cache.default_ttl_ms = rows.optional_integer(row, 4);
    cache.generation = rows.integer(row, 5);
    cache.max_entries = rows.optional_integer(row, 6);
    cache.max_bytes = rows.optional_integer(row, 7);
    return cache;
}

} // namespace

PgEngine::PgEngine(const std::string& conninfo, std::string name_space, engine::OpenMode mode,
                   const engine::EngineOptions& options)
    : m_conninfo(conninfo), m_connection(std::make_unique<PgConnection>(conninfo)),
      m_namespace(std::move(name_space)),
      m_options(options) {
    if (mode != engine::OpenMode::read) {
        schema::ensure(*m_connection);
        m_layout_checked = true;
    }
}

PgEngine::~PgEngine() {
    try {
        fold_lookup_counts();
    } catch (...) { // NOLINT(bugprone-empty-catch): counts are approximate by design
    }
}

double PgEngine::now() {
    if (m_options.clock || process_test_clock_time()) {
        return unix_now(m_options.clock);
    }
    // TTLs use the server's clock, which every machine shares.
    Rows now = m_connection->exec("SELECT extract(epoch FROM clock_timestamp())::float8");
    return now.real(0, 0);
}

bool PgEngine::settings_trusted() {
    const auto id = namespace_id();
    if (!id) {
        return true;
    }
    Rows foreign = m_connection->exec(
        "SELECT 1 FROM cacheman.caches WHERE ns = $1::bigint AND settings_role <> current_user "
        "AND num_nonnulls(builder, loader, saver, validator, deleter, pre_processor, "
        "post_processor) > 0 LIMIT 1",
        {*id});
    return foreign.empty();
}

std::vector<std::string> PgEngine::namespaces() {
    std::vector<std::string> names;
    if (!m_layout_checked && !schema::exists(*m_connection)) {
        return names;
    }
    const Rows rows = m_connection->exec("SELECT name FROM cacheman.namespaces ORDER BY name");
    for (int i = 0; i < rows.size(); ++i) {
        names.push_back(rows.text(i, 0));
    }
    return names;
}

std::optional<std::int64_t> PgEngine::namespace_id() {
    if (m_namespace_id) {
        return m_namespace_id;
    }
    if (!m_layout_checked) {
        if (!schema::exists(*m_connection)) {
            return std::nullopt;
        }
        schema::check_version(*m_connection); // a reader too refuses a newer layout
        m_layout_checked = true;
    }
    Rows found =
        m_connection->exec("SELECT id FROM cacheman.namespaces WHERE name = $1", {m_namespace});
    if (!found.empty()) {
        m_namespace_id = found.integer(0, 0);
    }
    return m_namespace_id;
}

void PgEngine::write_lock() {
    // (OpenMode::read only means that nothing is created: a lazy build still writes.) One lock
    // per namespace name (a hash of it), held to the end of the transaction, waited for as
    // long as the busy timeout says: then LockedError, as on SQLite.
    m_connection->exec_script("SET LOCAL lock_timeout = " +
                              std::to_string(std::max(1, m_options.busy_timeout_ms)));
    try {
        m_connection->exec("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                           {"cacheman namespace " + m_namespace});
    } catch (const StoreError& error) {
        if (m_connection->last_sqlstate() == "55P03") { // lock_not_available
            throw LockedError("store " + name() + " is locked by another writer of namespace '" +
                              m_namespace + "' (waited " +
                              std::to_string(m_options.busy_timeout_ms) + " ms)");
        }
        throw;
    }
}

std::int64_t PgEngine::ensure_namespace() {
    if (const auto id = namespace_id()) {
        return *id;
    }
    Rows made = m_connection->exec(
        "INSERT INTO cacheman.namespaces(name, created) VALUES ($1, $2::float8) "
        "ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        {m_namespace, now()});
    // Not kept in m_namespace_id until the transaction commits: a rollback would forget it.
    return made.integer(0, 0);
}

std::optional<CacheRow> PgEngine::find_cache(std::string_view cache) {
    const auto id = namespace_id();
    if (!id) {
        return std::nullopt;
    }
    Rows found = m_connection->exec(std::string("SELECT ") + k_cache_row_columns +
                                        " FROM cacheman.caches WHERE ns = $1::bigint AND name = $2",
                                    {*id, std::string(cache)});
    if (found.empty()) {
        return std::nullopt;
    }
    return read_cache_row(found, 0);
}

CacheRow PgEngine::ensure_cache(std::string_view cache) {
    if (auto found = find_cache(cache)) {
        return *found;
    }
    const std::int64_t ns = ensure_namespace();
    Rows made = m_connection->exec(std::string("INSERT INTO cacheman.caches(ns, name, created) "
                                               "VALUES ($1::bigint, $2, $3::float8) RETURNING ") +
                                       k_cache_row_columns,
                                   {ns, std::string(cache), now()});
    return read_cache_row(made, 0);
}

} // namespace cacheman::postgres

namespace cacheman::postgres {

namespace {

// A program that links this engine (an object library) opens store URLs with it: registered
// before main() runs, so that no code above the engine interface names it.
// NOLINTNEXTLINE(cert-err58-cpp): nothing in it throws (register_store_opener is noexcept)
const bool k_registered = []() noexcept {
    engine::register_store_opener(
        [](const Location& location, engine::OpenMode mode, const engine::EngineOptions& options)
            -> std::unique_ptr<engine::Engine> {
            return std::make_unique<PgEngine>(location.store, location.name_space, mode, options);
        });
    return true;
}();

} // namespace

} // namespace cacheman::postgres
