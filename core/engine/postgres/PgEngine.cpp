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

const char* const k_server_clock = "extract(epoch FROM clock_timestamp())::float8";

CacheRow read_cache_row(const Rows& rows, int row, int first) {
    CacheRow cache;
    cache.id = rows.integer(row, first);
    cache.next_expiry = rows.optional_real(row, first + 1);
    cache.needs_build = rows.boolean(row, first + 2);
    cache.counts_edits = rows.boolean(row, first + 3);
    cache.default_ttl_ms = rows.optional_integer(row, first + 4);
    cache.generation = rows.integer(row, first + 5);
    cache.max_entries = rows.optional_integer(row, first + 6);
    cache.max_bytes = rows.optional_integer(row, first + 7);
    return cache;
}

PgEngine::PgEngine(const std::string& conninfo, std::string name_space, engine::OpenMode mode,
                   const engine::EngineOptions& options)
    : m_conninfo(conninfo), m_connection(std::make_unique<PgConnection>(conninfo)),
      m_namespace(std::move(name_space)),
      m_options(options) {
    // A writer makes or migrates the layout first; a reader learns of it with its first need
    // (namespace_id, or the lookup that reads it with the entry).
    if (mode != engine::OpenMode::read) {
        schema::Probe found = schema::probe(*m_connection, m_namespace);
        if (found.version != schema::k_latest_version) {
            schema::ensure(*m_connection);
            found = schema::probe(*m_connection, m_namespace);
        }
        remember(found);
    }
    m_connection->name_lock_timeouts("store " + name() + " is locked by another writer of " +
                                     "namespace '" + m_namespace + "' (waited " +
                                     std::to_string(m_options.busy_timeout_ms) + " ms)");
}

PgEngine::~PgEngine() {
    try {
        fold_lookup_counts();
    } catch (...) { // NOLINT(bugprone-empty-catch): counts are approximate by design
    }
}

std::optional<double> PgEngine::local_clock() const {
    if (m_options.clock || process_test_clock_time()) {
        return unix_now(m_options.clock);
    }
    return std::nullopt;
}

double PgEngine::now() {
    if (const auto local = local_clock()) {
        return *local;
    }
    // TTLs use the server's clock, which every machine shares; read once per transaction.
    if (const auto read = m_connection->transaction_clock()) {
        return *read;
    }
    const double read = m_connection->exec(std::string("SELECT ") + k_server_clock).real(0, 0);
    m_connection->remember_transaction_clock(read);
    return read;
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

void PgEngine::remember(const schema::Probe& found) {
    m_probed = true;
    m_layout_checked = found.exists;
    m_namespace_id = found.namespace_id;
}

std::vector<std::string> PgEngine::namespaces() {
    std::vector<std::string> names;
    namespace_id(); // learns whether the layout exists
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
    if (!m_probed && !m_connection->transaction_started()) {
        // One statement for the layout, its version and the namespace (rather than one each:
        // a command's time is mostly its round trips).
        remember(schema::probe(*m_connection, m_namespace));
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
    // long as the busy timeout says: then LockedError (name_lock_timeouts), as on SQLite. Sent
    // with the transaction's next statement; set_config(..., true) is SET LOCAL, in the same
    // statement: the select list is evaluated in order.
    m_connection->defer(Statement{"SELECT set_config('lock_timeout', $1, true), "
                                  "pg_advisory_xact_lock(hashtextextended($2, 0))",
                                  {std::to_string(std::max(1, m_options.busy_timeout_ms)),
                                   "cacheman namespace " + m_namespace}});
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
    // With the server's clock, which the calls on the cache read next (now()): a cache
    // missing still gives a row.
    Rows found = m_connection->exec(
        std::string("SELECT ") + k_server_clock + ", c.* FROM (SELECT 1) AS one LEFT JOIN (SELECT " +
            k_cache_row_columns +
            " FROM cacheman.caches WHERE ns = $1::bigint AND name = $2) AS c ON true",
        {*id, std::string(cache)});
    m_connection->remember_transaction_clock(found.real(0, 0));
    if (found.null(0, 1)) {
        return std::nullopt;
    }
    return read_cache_row(found, 0, 1);
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
    return read_cache_row(made, 0, 0);
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
