#include "engine/sqlite/Entries.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"

#include <limits>

namespace cacheman::sqlite {

namespace {

constexpr std::string_view k_live = "(expires IS NULL OR expires > ?)";
// SQLite refuses a compound SELECT of more than 500 terms (SQLITE_MAX_COMPOUND_SELECT).
constexpr std::size_t k_totals_per_statement = 400;

std::optional<double> optional_double(const Statement& query, int column) {
    return query.is_null(column) ? std::nullopt
                                 : std::optional<double>(query.column_double(column));
}

std::optional<std::string> optional_text(const Statement& query, int column) {
    return query.is_null(column) ? std::nullopt
                                 : std::optional<std::string>(query.column_text(column));
}

} // namespace

void Entries::read_content(const std::string& digest, const engine::ChunkSink& sink) {
    if (!m_contents.read(digest, sink)) {
        throw StoreError("a stored value's contents are gone from the store (" + digest + ")");
    }
}

bool Entries::read_value(const CacheRow& row, std::string_view key, const engine::ChunkSink& sink) {
    auto& query = m_connection.prepared("SELECT rowid, value_content FROM " + Catalog::table(row) +
                                        " WHERE key = ? AND " + std::string(k_live));
    query.bind(1, key);
    query.bind(2, m_connection.now());
    if (!query.step()) {
        return false;
    }
    const long long rowid = query.column_int(0);
    const auto value_content = optional_text(query, 1);
    query.reset();
    if (value_content) {
        read_content(*value_content, sink);
        return true;
    }
    constexpr std::size_t k_piece = 1 << 20;
    m_connection.db().read_blob(row.is_volatile ? "volatile" : "main",
                                "cache_" + std::to_string(row.id), "value", rowid, k_piece, sink);
    return true;
}

std::optional<engine::Entry> Entries::get(const CacheRow& row, std::string_view key) {
    auto& query = m_connection.prepared("SELECT value, expires, value_content FROM " +
                                        Catalog::table(row) + " WHERE key = ? AND " +
                                        std::string(k_live));
    query.bind(1, key);
    query.bind(2, m_connection.now());
    if (!query.step()) {
        return std::nullopt;
    }
    engine::Entry entry{std::string(query.column_blob(0)), optional_double(query, 1)};
    const auto value_content = optional_text(query, 2);
    query.reset();
    if (value_content) {
        read_content(*value_content, [&entry](std::string_view piece) { entry.value += piece; });
    }
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
    auto& query = m_connection.prepared("SELECT key, expires, value, value_content FROM " +
                                        Catalog::table(row) + " WHERE " + std::string(k_live) +
                                        " ORDER BY key");
    query.bind(1, m_connection.now());
    while (query.step()) {
        const std::string_view key = query.column_text(0);
        engine::EntryView entry{key, query.column_blob(2), optional_double(query, 1), {}, {},
                                [this, &row, key] { return m_contents.referred(row.id, key); }};
        if (!query.is_null(3)) {
            entry.value_content = query.column_text(3);
            entry.stream = [this, digest = std::string(entry.value_content)](
                               const engine::ChunkSink& sink) { read_content(digest, sink); };
        }
        visit(entry);
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
            sql += "SELECT " + std::to_string(i) + ", count(*), coalesce(sum(" +
                   Contents::entry_bytes(rows[i]) + "), 0) FROM " + Catalog::table(rows[i]) +
                   " AS e WHERE expires IS NULL OR expires > ?1";
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

namespace {
// A batch writing a row larger than this (most of it in overflow pages) gains nothing from a
// large page cache: its pages spill to the WAL as they fill it, and memory stays bounded.
constexpr std::size_t k_large_row = std::size_t{256} << 10;
} // namespace

std::optional<std::string> Entries::keep_large_value(const engine::Write& write) {
    const auto large = engine::content_value_of(write);
    if (!large) {
        return std::nullopt;
    }
    m_contents.put(large->digest, large->size, m_connection.now(), large->read);
    return large->digest;
}

std::size_t Entries::apply(CacheRow& row, const engine::WriteSource& writes, std::int64_t tick) {
    purge_expired_if_due(row);
    const std::string table = Catalog::table(row);
    auto& insert = m_connection.prepared("INSERT OR REPLACE INTO " + table +
                                         "(key, expires, used, value, value_content) VALUES(?, ?, ?, ?, ?)");
    auto& remove = m_connection.prepared("DELETE FROM " + table + " WHERE key = ?");
    const double now = m_connection.now();
    std::optional<double> earliest;
    std::size_t applied = 0;
    bool small_cache = false;
    // Whether an entry of the cache may refer to contents: when none does (most caches), the
    // writes need not look for references to release.
    bool may_refer = m_contents.any_referred_by(row.id);
    engine::Write write;
    while (writes(write)) {
        validate_key(write.key);
        ++applied;
        if (may_refer) {
            m_contents.release(row.id, write.key);
        }
        if (!write.value) {
            remove.bind(1, write.key);
            remove.run();
            continue;
        }
        if (!small_cache && (write.large_value || write.value->size() > k_large_row)) {
            m_connection.use_small_cache(); // its pages need not stay in memory
            small_cache = true;
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
            insert.bind(3, tick);
            const auto value_content = keep_large_value(write);
            insert.bind_blob(4, value_content ? std::string_view() : *write.value);
            if (value_content) {
                insert.bind(5, *value_content);
            } else {
                insert.bind_null(5);
            }
            insert.run();
            m_contents.refer(row.id, write.key, write.contents);
            if (value_content) {
                m_contents.refer(row.id, write.key, {*value_content});
            }
            may_refer = may_refer || value_content || !write.contents.empty();
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
        m_contents.release(row.id, key);
    }
    return removed;
}

void Entries::remove(const CacheRow& row, std::string_view key) {
    auto& remove = m_connection.prepared("DELETE FROM " + Catalog::table(row) + " WHERE key = ?");
    remove.bind(1, key);
    remove.run();
    m_contents.release(row.id, key);
}

void Entries::clear(CacheRow& row) {
    m_connection.prepared("DELETE FROM " + Catalog::table(row)).run();
    m_contents.release_all(row.id);
    auto& reset = m_connection.prepared("UPDATE caches SET next_expiry = NULL WHERE id = ?");
    reset.bind(1, row.id);
    reset.run();
    row.next_expiry.reset();
}

void Entries::purge_expired_if_due(CacheRow& row) {
    if (!row.next_expiry || *row.next_expiry > m_connection.now()) {
        return;
    }
    purge_expired(row);
}

engine::Removed Entries::purge_expired(CacheRow& row) {
    const std::string table = Catalog::table(row);
    auto& expired =
        m_connection.prepared("SELECT count(*), coalesce(sum(" + Contents::entry_bytes(row) +
                              "), 0) FROM " + table + " AS e WHERE expires <= ?");
    const double now = m_connection.now();
    expired.bind(1, now);
    expired.step();
    engine::Removed removed{expired.column_int(0), expired.column_int(1)};
    expired.reset();
    if (removed.entries > 0) {
        auto& purge = m_connection.prepared("DELETE FROM " + table + " WHERE expires <= ?");
        purge.bind(1, now);
        purge.run();
        m_contents.release_dangling(row);
    }
    auto& next =
        m_connection.prepared("UPDATE caches SET next_expiry = (SELECT min(expires) FROM " + table +
                              ") WHERE id = ? RETURNING next_expiry");
    next.bind(1, row.id);
    next.step();
    row.next_expiry = optional_double(next, 0);
    next.reset();
    return removed;
}

std::int64_t Entries::use_tick(std::int64_t count) {
    auto& tick = m_connection.prepared("UPDATE use_clock SET tick = tick + ? RETURNING tick");
    tick.bind(1, count);
    tick.step();
    const std::int64_t last = tick.column_int(0);
    tick.reset();
    return last;
}

void Entries::note_uses(const CacheRow& row,
                        const std::vector<std::pair<std::string, std::int64_t>>& uses) {
    auto& use =
        m_connection.prepared("UPDATE " + Catalog::table(row) + " SET used = ? WHERE key = ?");
    for (const auto& [key, tick] : uses) {
        use.bind(1, tick);
        use.bind(2, key);
        use.run();
    }
}

void Entries::remove_all(const CacheRow& row,
                         const std::vector<std::pair<std::string, std::int64_t>>& keys,
                         engine::Removed& removed) {
    auto& remove = m_connection.prepared("DELETE FROM " + Catalog::table(row) + " WHERE key = ?");
    for (const auto& [key, bytes] : keys) {
        remove.bind(1, key);
        remove.run();
        m_contents.release(row.id, key);
        removed.entries += 1;
        removed.bytes += bytes;
    }
}

engine::Removed Entries::evict(const CacheRow& row) {
    engine::Removed removed;
    if (!row.has_limits()) {
        return removed;
    }
    // Keeps the most recently used entries, newest first, while both running totals fit: the
    // rest (the least recently used) goes, and so does an entry too large for the limit on its
    // own (it is not counted in the totals, so that it does not push out the others).
    const std::string table = Catalog::table(row);
    auto& victims = m_connection.prepared(
        "SELECT key, size FROM (SELECT key, size, sum(size <= ?3) OVER newest AS n, "
        "sum(iif(size <= ?3, size, 0)) OVER newest AS total FROM (SELECT key, used, " +
        Contents::entry_bytes(row) + " AS size FROM " + table +
        " AS e WHERE expires IS NULL OR expires > ?1) WINDOW newest AS (ORDER BY "
        "coalesce(used, 0) DESC, key DESC ROWS UNBOUNDED PRECEDING)) "
        "WHERE size > ?3 OR n > ?2 OR total > ?3");
    victims.bind(1, m_connection.now());
    victims.bind(2, row.max_entries.value_or(std::numeric_limits<std::int64_t>::max()));
    victims.bind(3, row.max_bytes.value_or(std::numeric_limits<std::int64_t>::max()));
    std::vector<std::pair<std::string, std::int64_t>> keys;
    while (victims.step()) {
        keys.emplace_back(victims.column_text(0), victims.column_int(1));
    }
    victims.reset();
    remove_all(row, keys, removed);
    return removed;
}

engine::Removed Entries::evict_across(const std::vector<CacheRow>& rows, std::int64_t max_bytes) {
    // The candidates of every cache in one temporary table (one statement per cache, however
    // many caches there are), then one ordered pass over it.
    auto& db = m_connection.db();
    db.exec("CREATE TEMP TABLE IF NOT EXISTS gc_candidates(cache INTEGER NOT NULL, key TEXT NOT "
            "NULL, used INTEGER NOT NULL, size INTEGER NOT NULL); DELETE FROM gc_candidates");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        Statement fill(db, "INSERT INTO gc_candidates SELECT ?1, key, coalesce(used, 0), " +
                               Contents::entry_bytes(rows[i]) + " FROM " + Catalog::table(rows[i]) +
                               " AS e WHERE expires IS NULL OR expires > ?2");
        fill.bind(1, static_cast<std::int64_t>(i));
        fill.bind(2, m_connection.now());
        fill.run();
    }
    Statement victims(db, "SELECT cache, key, size FROM (SELECT cache, key, size, "
                          "sum(iif(size <= ?1, size, 0)) OVER (ORDER BY used DESC, cache DESC, "
                          "key DESC ROWS UNBOUNDED PRECEDING) AS total FROM gc_candidates) "
                          "WHERE size > ?1 OR total > ?1 ORDER BY cache");
    victims.bind(1, max_bytes);
    std::vector<std::vector<std::pair<std::string, std::int64_t>>> keys(rows.size());
    while (victims.step()) {
        keys.at(static_cast<std::size_t>(victims.column_int(0)))
            .emplace_back(victims.column_text(1), victims.column_int(2));
    }
    victims.reset();
    db.exec("DELETE FROM gc_candidates");
    engine::Removed removed;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        remove_all(rows[i], keys[i], removed);
    }
    return removed;
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
