#include "engine/sqlite/Catalog.hpp"

#include "base/Error.hpp"
#include "engine/sqlite/Schema.hpp"

#include <array>
#include <random>

namespace cacheman::sqlite {

namespace {

constexpr std::string_view k_settings_columns =
    "builder, loader, saver, validator, deleter, pre_processor, post_processor, default_ttl_ms, "
    "volatile, autosync, autosync_checks, saved_current, max_entries, max_bytes";

std::optional<std::int64_t> int_or_null(const Statement& query, int column) {
    return query.is_null(column) ? std::nullopt
                                 : std::optional<std::int64_t>(query.column_int(column));
}

std::optional<std::string> text_or_null(const Statement& query, int column) {
    return query.is_null(column) ? std::nullopt
                                 : std::optional<std::string>(query.column_text(column));
}

// The seven hook commands in the order of k_settings_columns.
template <class Settings> auto hook_fields(Settings& settings) {
    return std::array{&settings.builder,       &settings.loader,  &settings.saver,
                      &settings.validator,     &settings.deleter, &settings.pre_processor,
                      &settings.post_processor};
}

} // namespace

std::optional<CacheRow> Catalog::find(std::string_view cache) {
    auto& query = m_connection.prepared(
        "SELECT id, next_expiry, volatile, builder IS NOT NULL AND built = 0, "
        "saver IS NOT NULL AND coalesce(autosync, 1), default_ttl_ms, generation, max_entries, "
        "max_bytes FROM caches WHERE name = ?");
    query.bind(1, cache);
    if (!query.step()) {
        return std::nullopt;
    }
    CacheRow row;
    row.id = query.column_int(0);
    if (!query.is_null(1)) {
        row.next_expiry = query.column_double(1);
    }
    row.is_volatile = query.column_int(2) != 0;
    row.needs_build = query.column_int(3) != 0;
    row.counts_edits = query.column_int(4) != 0;
    if (!query.is_null(5)) {
        row.default_ttl_ms = query.column_int(5);
    }
    row.generation = query.column_int(6);
    row.max_entries = int_or_null(query, 7);
    row.max_bytes = int_or_null(query, 8);
    query.reset();
    return row;
}

CacheRow Catalog::existing(std::string_view cache) {
    if (auto row = find(cache)) {
        return *row;
    }
    throw StoreError("the store is inconsistent: cache '" + std::string(cache) +
                     "' has edges but no row (run 'cacheman check')");
}

CacheRow Catalog::ensure(std::string_view cache) {
    if (auto row = find(cache)) {
        return *row;
    }
    // A random first generation: a cache dropped and created again may get the same id (SQLite
    // reuses the largest rowid), and must not look like the cache a `run` saw before the drop.
    CacheRow row;
    row.generation = static_cast<std::int64_t>(std::random_device{}() >> 1);
    auto& insert =
        m_connection.prepared("INSERT INTO caches(name, created, generation) VALUES(?, ?, ?)");
    insert.bind(1, cache);
    insert.bind(2, m_connection.now());
    insert.bind(3, row.generation);
    insert.run();
    row.id = m_connection.db().last_insert_rowid();
    m_connection.db().exec(schema::create_entries_table(row.id));
    return row;
}

std::string Catalog::table(const CacheRow& row) {
    return schema::entries_table(row.id, row.is_volatile);
}

std::optional<engine::CacheSettings> Catalog::settings(std::string_view cache) {
    auto& query = m_connection.prepared("SELECT " + std::string(k_settings_columns) +
                                        " FROM caches WHERE name = ?");
    query.bind(1, cache);
    if (!query.step()) {
        return std::nullopt;
    }
    engine::CacheSettings settings;
    int column = 0;
    for (auto* hook : hook_fields(settings)) {
        *hook = text_or_null(query, column++);
    }
    if (!query.is_null(7)) {
        settings.default_ttl = Duration(query.column_int(7));
    }
    settings.is_volatile = query.column_int(8) != 0;
    if (!query.is_null(9)) {
        settings.autosync = query.column_int(9) != 0;
    }
    if (const auto checks = text_or_null(query, 10)) {
        settings.autosync_checks = parse_time_checks(*checks);
    }
    settings.saved_copy_current = query.column_int(11) != 0;
    settings.max_entries = int_or_null(query, 12);
    settings.max_bytes = int_or_null(query, 13);
    query.reset();
    return settings;
}

void Catalog::write_settings(const CacheRow& row, const engine::CacheSettings& settings) {
    auto& update = m_connection.prepared(
        "UPDATE caches SET builder = ?, loader = ?, saver = ?, validator = ?, deleter = ?, "
        "pre_processor = ?, post_processor = ?, default_ttl_ms = ?, volatile = ?, autosync = ?, "
        "autosync_checks = ?, max_entries = ?, max_bytes = ? WHERE id = ?");
    int index = 1;
    for (const auto* hook : hook_fields(settings)) {
        if (*hook) {
            update.bind(index, **hook);
        } else {
            update.bind_null(index);
        }
        ++index;
    }
    if (settings.default_ttl) {
        update.bind(8, static_cast<std::int64_t>(settings.default_ttl->count()));
    } else {
        update.bind_null(8);
    }
    update.bind(9, static_cast<std::int64_t>(settings.is_volatile));
    if (settings.autosync) {
        update.bind(10, static_cast<std::int64_t>(*settings.autosync));
    } else {
        update.bind_null(10);
    }
    const std::string checks =
        settings.autosync_checks ? format_time_checks(*settings.autosync_checks) : "";
    if (settings.autosync_checks) {
        update.bind(11, checks);
    } else {
        update.bind_null(11);
    }
    int limit_index = 12;
    for (const auto& limit : {settings.max_entries, settings.max_bytes}) {
        if (limit) {
            update.bind(limit_index, *limit);
        } else {
            update.bind_null(limit_index);
        }
        ++limit_index;
    }
    update.bind(14, row.id);
    update.run();
}

void Catalog::set_built(const CacheRow& row, bool built) {
    auto& update = m_connection.prepared("UPDATE caches SET built = ? WHERE id = ?");
    update.bind(1, static_cast<std::int64_t>(built));
    update.bind(2, row.id);
    update.run();
}

void Catalog::set_saved_current(const CacheRow& row, bool current) {
    auto& update = m_connection.prepared("UPDATE caches SET saved_current = ? WHERE id = ?");
    update.bind(1, static_cast<std::int64_t>(current));
    update.bind(2, row.id);
    update.run();
}

void Catalog::next_generation(const CacheRow& row) {
    auto& update = m_connection.prepared(
        "UPDATE caches SET generation = generation + 1, saved_current = 0 WHERE id = ?");
    update.bind(1, row.id);
    update.run();
}

std::vector<engine::CacheSummary> Catalog::summaries() {
    std::vector<engine::CacheSummary> out;
    auto& rows = m_connection.prepared(
        "SELECT c.name, c.volatile, c.invalidated, coalesce(s.hits, 0), coalesce(s.misses, 0) "
        "FROM caches c LEFT JOIN stats s ON s.cache = c.name ORDER BY c.name");
    while (rows.step()) {
        engine::CacheSummary summary;
        summary.name = rows.column_text(0);
        summary.is_volatile = rows.column_int(1) != 0;
        if (!rows.is_null(2)) {
            summary.invalidated = rows.column_double(2);
        }
        summary.hits = rows.column_int(3);
        summary.misses = rows.column_int(4);
        out.push_back(std::move(summary));
    }
    rows.reset();
    return out;
}

void Catalog::remove(const CacheRow& row) {
    auto& remove = m_connection.prepared("DELETE FROM caches WHERE id = ?");
    remove.bind(1, row.id);
    remove.run();
    m_connection.db().exec("DROP TABLE " + table(row));
}

} // namespace cacheman::sqlite
