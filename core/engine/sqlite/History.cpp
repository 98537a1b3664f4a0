#include "engine/sqlite/History.hpp"

#include "engine/sqlite/Schema.hpp"
#include "jsonl/Writer.hpp"

#include <algorithm>

namespace cacheman::sqlite {

void History::append_log(std::string_view command, std::string_view cache,
                         const std::vector<std::string>& cleared, double when) {
    const std::string names = json::Writer().strings(cleared).take();
    auto& insert =
        m_connection.prepared("INSERT INTO log(at, command, cache, cleared) VALUES(?, ?, ?, ?)");
    insert.bind(1, when);
    insert.bind(2, command);
    insert.bind(3, cache);
    insert.bind(4, names);
    insert.run();
    auto& trim = m_connection.prepared("DELETE FROM log WHERE id <= last_insert_rowid() - ?");
    trim.bind(1, static_cast<std::int64_t>(schema::k_log_limit));
    trim.run();
}

std::vector<engine::LogEntry> History::log(const std::optional<std::string>& cache,
                                           std::size_t limit) {
    auto& query = m_connection.prepared(
        "SELECT at, command, cache, cleared FROM log WHERE ?1 IS NULL OR cache = ?1 OR "
        "EXISTS(SELECT 1 FROM json_each(log.cleared) WHERE value = ?1) ORDER BY id DESC LIMIT ?2");
    if (cache) {
        query.bind(1, *cache);
    } else {
        query.bind_null(1);
    }
    query.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, 1U << 30)));
    std::vector<engine::LogEntry> out;
    auto& names = m_connection.prepared("SELECT value FROM json_each(?)");
    while (query.step()) {
        engine::LogEntry entry;
        entry.at = query.column_double(0);
        entry.command = query.column_text(1);
        entry.cache = query.column_text(2);
        names.bind(1, query.column_text(3));
        while (names.step()) {
            entry.cleared.emplace_back(names.column_text(0));
        }
        names.reset();
        out.push_back(std::move(entry));
    }
    query.reset();
    return out;
}

void History::add_lookup_counts(const std::map<std::string, LookupCounts>& counts) {
    auto& add = m_connection.prepared(
        "INSERT INTO stats(cache, hits, misses) VALUES(?, ?, ?) ON CONFLICT DO UPDATE SET "
        "hits = hits + excluded.hits, misses = misses + excluded.misses");
    for (const auto& [cache, count] : counts) {
        add.bind(1, cache);
        add.bind(2, count.hits);
        add.bind(3, count.misses);
        add.run();
    }
}

void History::forget_lookup_counts(std::string_view cache) {
    auto& forget = m_connection.prepared("DELETE FROM stats WHERE cache = ?");
    forget.bind(1, cache);
    forget.run();
}

void History::count_edits(const CacheRow& row, std::int64_t count) {
    if (!row.counts_edits || count == 0) {
        return;
    }
    auto& add = m_connection.prepared("INSERT INTO edits(cache_id, bucket, count) VALUES(?, ?, ?) "
                                      "ON CONFLICT DO UPDATE SET count = count + excluded.count");
    add.bind(1, row.id);
    add.bind(2, static_cast<std::int64_t>(m_connection.now()));
    add.bind(3, count);
    add.run();
}

engine::EditBuckets History::edit_counts(const CacheRow& row) {
    engine::EditBuckets buckets;
    auto& query = m_connection.prepared("SELECT bucket, count FROM edits WHERE cache_id = ?");
    query.bind(1, row.id);
    while (query.step()) {
        buckets[query.column_int(0)] = query.column_int(1);
    }
    query.reset();
    return buckets;
}

void History::forget_edits(const CacheRow& row, std::optional<std::int64_t> bucket) {
    auto& forget = m_connection.prepared(
        "DELETE FROM edits WHERE cache_id = ?1 AND (?2 IS NULL OR bucket < ?2)");
    forget.bind(1, row.id);
    if (bucket) {
        forget.bind(2, *bucket);
    } else {
        forget.bind_null(2);
    }
    forget.run();
}

} // namespace cacheman::sqlite
