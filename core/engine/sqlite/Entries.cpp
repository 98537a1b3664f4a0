#include "engine/sqlite/Entries.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"

namespace cacheman::sqlite {

namespace {

constexpr std::string_view k_live = "(expires IS NULL OR expires > ?)";
// SQLite refuses a compound SELECT of more than 500 terms (SQLITE_MAX_COMPOUND_SELECT).
constexpr std::size_t k_totals_per_statement = 400;

std::optional<double> optional_double(const Statement& query, int column) {
    return query.is_null(column) ? std::nullopt
                                 : std::optional<double>(query.column_double(column));
}

} // namespace

std::optional<engine::Entry> Entries::get(const CacheRow& row, std::string_view key) {
    auto& query = m_connection.prepared("SELECT value, expires FROM " + Catalog::table(row) +
                                        " WHERE key = ? AND " + std::string(k_live));
    query.bind(1, key);
    query.bind(2, m_connection.now());
    if (!query.step()) {
        return std::nullopt;
    }
    engine::Entry entry{std::string(query.column_blob(0)), optional_double(query, 1)};
    query.reset();
    return entry;
}

std::vector<std::string> Entries::keys(const CacheRow& row) {
    auto& query = m_connection.prepared("SELECT key FROM " + Catalog::table(row) + " WHERE " +
                                        std::string(k_live) + " ORDER BY key");
    query.bind(1, m_connection.now());
    std::vector<std::string> keys;
    while (query.step()) {
        keys.emplace_back(query.column_text(0));
    }
    query.reset();
    return keys;
}

std::size_t Entries::count(const CacheRow& row) {
    auto& query = m_connection.prepared("SELECT count(*) FROM " + Catalog::table(row) + " WHERE " +
                                        std::string(k_live));
    query.bind(1, m_connection.now());
    query.step();
    const auto count = static_cast<std::size_t>(query.column_int(0));
    query.reset();
    return count;
}

void Entries::scan(const CacheRow& row, const engine::EntryVisitor& visit) {
    auto& query = m_connection.prepared("SELECT key, expires, value FROM " + Catalog::table(row) +
                                        " WHERE " + std::string(k_live) + " ORDER BY key");
    query.bind(1, m_connection.now());
    while (query.step()) {
        visit({query.column_text(0), query.column_blob(2), optional_double(query, 1)});
    }
    query.reset();
}

std::vector<Entries::Totals> Entries::totals(const std::vector<CacheRow>& rows) {
    // One statement per few hundred caches rather than one per cache: `list` of thousands of
    // caches prepares a handful of statements.
    std::vector<Totals> out(rows.size());
    const double now = m_connection.now();
    for (std::size_t first = 0; first < rows.size(); first += k_totals_per_statement) {
        const std::size_t last = std::min(rows.size(), first + k_totals_per_statement);
        std::string sql;
        for (std::size_t i = first; i < last; ++i) {
            sql += sql.empty() ? "" : " UNION ALL ";
            sql += "SELECT " + std::to_string(i) +
                   ", count(*), coalesce(sum(length(value)), 0) FROM " + Catalog::table(rows[i]) +
                   " WHERE expires IS NULL OR expires > ?1";
        }
        Statement query(m_connection.db(), sql); // built for this call: not worth keeping
        query.bind(1, now);
        while (query.step()) {
            auto& total = out[static_cast<std::size_t>(query.column_int(0))];
            total.entries = query.column_int(1);
            total.bytes = query.column_int(2);
        }
    }
    return out;
}

std::size_t Entries::apply(CacheRow& row, const engine::WriteSource& writes) {
    purge_expired_if_due(row);
    const std::string table = Catalog::table(row);
    auto& insert = m_connection.prepared("INSERT OR REPLACE INTO " + table +
                                         "(key, expires, value) VALUES(?, ?, ?)");
    auto& remove = m_connection.prepared("DELETE FROM " + table + " WHERE key = ?");
    const double now = m_connection.now();
    std::optional<double> earliest;
    std::size_t applied = 0;
    engine::Write write;
    while (writes(write)) {
        validate_key(write.key);
        ++applied;
        if (!write.value) {
            remove.bind(1, write.key);
            remove.run();
            continue;
        }
        std::optional<double> expires = write.expires;
        const auto ttl_ms =
            write.ttl ? std::optional<std::int64_t>(write.ttl->count()) : row.default_ttl_ms;
        if (!expires && ttl_ms) {
            expires = now + static_cast<double>(*ttl_ms) / 1000.0;
        }
        if (expires && (!earliest || *expires < *earliest)) {
            earliest = expires;
        }
        try {
            insert.bind(1, write.key);
            insert.bind(2, expires);
            insert.bind_blob(3, *write.value);
            insert.run();
        } catch (const StoreError& error) {
            rethrow_with_context(error, "key " + quoted_for_message(write.key) + ": ");
        }
    }
    if (earliest) {
        note_expiry(row, *earliest);
    }
    return applied;
}

std::size_t Entries::erase(CacheRow& row, const std::vector<std::string>& keys) {
    purge_expired_if_due(row);
    auto& remove = m_connection.prepared("DELETE FROM " + Catalog::table(row) + " WHERE key = ?");
    std::size_t removed = 0;
    for (const auto& key : keys) {
        remove.bind(1, key);
        remove.run();
        removed += static_cast<std::size_t>(m_connection.db().changes());
    }
    return removed;
}

void Entries::remove(const CacheRow& row, std::string_view key) {
    auto& remove = m_connection.prepared("DELETE FROM " + Catalog::table(row) + " WHERE key = ?");
    remove.bind(1, key);
    remove.run();
}

void Entries::clear(CacheRow& row) {
    m_connection.prepared("DELETE FROM " + Catalog::table(row)).run();
    auto& reset = m_connection.prepared("UPDATE caches SET next_expiry = NULL WHERE id = ?");
    reset.bind(1, row.id);
    reset.run();
    row.next_expiry.reset();
}

void Entries::purge_expired_if_due(CacheRow& row) {
    const double now = m_connection.now();
    if (!row.next_expiry || *row.next_expiry > now) {
        return;
    }
    const std::string table = Catalog::table(row);
    auto& purge = m_connection.prepared("DELETE FROM " + table + " WHERE expires <= ?");
    purge.bind(1, now);
    purge.run();
    auto& next =
        m_connection.prepared("UPDATE caches SET next_expiry = (SELECT min(expires) FROM " + table +
                              ") WHERE id = ? RETURNING next_expiry");
    next.bind(1, row.id);
    next.step();
    row.next_expiry = optional_double(next, 0);
    next.reset();
}

void Entries::note_expiry(CacheRow& row, double expires) {
    if (row.next_expiry && *row.next_expiry <= expires) {
        return;
    }
    row.next_expiry = expires;
    auto& update = m_connection.prepared("UPDATE caches SET next_expiry = ? WHERE id = ?");
    update.bind(1, expires);
    update.bind(2, row.id);
    update.run();
}

} // namespace cacheman::sqlite
