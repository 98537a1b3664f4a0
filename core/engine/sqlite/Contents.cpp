#include "engine/sqlite/Contents.hpp"

#include "base/Error.hpp"
#include "base/Hash.hpp"
#include "base/Posix.hpp"

#include <cstring>

namespace cacheman::sqlite {

namespace {
// No chunk is larger: SQLite refuses a value over 1 GB, and a chunk read is held in memory.
constexpr std::size_t k_chunk = 1 << 20;
} // namespace

void Contents::put(const std::string& digest, std::uint64_t size, double pin_until,
                   const Reader& read) {
    auto& pin = m_connection.prepared(
        "UPDATE contents SET pinned = max(coalesce(pinned, 0), ?2) WHERE digest = ?1");
    pin.bind(1, digest);
    pin.bind(2, pin_until);
    pin.run();
    if (m_connection.db().changes() > 0) {
        return; // kept already: pinned now, so that it stays until the write that refers to it
    }
    auto& insert = m_connection.prepared(
        "INSERT INTO contents(digest, size, pinned) VALUES(?, ?, ?) RETURNING id");
    insert.bind(1, digest);
    insert.bind(2, static_cast<std::int64_t>(size));
    insert.bind(3, pin_until);
    insert.step();
    const std::int64_t id = insert.column_int(0);
    insert.reset();
    auto& chunk =
        m_connection.prepared("INSERT INTO content_chunks(content_id, seq, data) VALUES(?, ?, ?)");
    std::string pending;
    std::int64_t seq = 0;
    std::uint64_t total = 0;
    Hasher hasher;
    const auto flush = [&](std::string_view bytes) {
        chunk.bind(1, id);
        chunk.bind(2, seq++);
        chunk.bind_blob(3, bytes);
        chunk.run();
    };
    read([&](std::string_view bytes) {
        hasher.raw(bytes.data(), bytes.size());
        total += bytes.size();
        while (!bytes.empty()) {
            if (pending.empty() && bytes.size() >= k_chunk) {
                flush(bytes.substr(0, k_chunk)); // a whole chunk: no copy
                bytes.remove_prefix(k_chunk);
                continue;
            }
            const std::size_t take = std::min(bytes.size(), k_chunk - pending.size());
            pending.append(bytes.substr(0, take));
            bytes.remove_prefix(take);
            if (pending.size() == k_chunk) {
                flush(pending);
                pending.clear();
            }
        }
    });
    if (!pending.empty()) {
        flush(pending);
    }
    if (total != size || hasher.hex() != digest) {
        throw StoreError("the bytes changed while they were being stored");
    }
}

void Contents::put(const std::string& digest, int fd, std::uint64_t size, double pin_until) {
    put(digest, size, pin_until, [fd](const engine::ChunkSink& sink) {
        ::lseek(fd, 0, SEEK_SET);
        if (const int error = read_to_end(fd, sink); error != 0) {
            throw StoreError(std::string("cannot read the bytes to store: ") +
                             std::strerror(error));
        }
    });
}

std::vector<engine::LargeValue> Contents::referred(std::int64_t cache_id, std::string_view key) {
    auto& query = m_connection.prepared(
        "SELECT t.digest, t.size FROM content_refs r JOIN contents t ON t.id = r.content_id "
        "WHERE r.cache_id = ? AND r.key = ? ORDER BY t.digest");
    query.bind(1, cache_id);
    query.bind(2, key);
    std::vector<engine::LargeValue> found;
    while (query.step()) {
        std::string digest(query.column_text(0));
        const auto size = static_cast<std::uint64_t>(query.column_int(1));
        found.push_back({digest, size, [this, digest](const engine::ChunkSink& sink) {
                             if (!read(digest, sink)) {
                                 throw StoreError("a content is gone from the store (" + digest +
                                                  ")");
                             }
                         }});
    }
    query.reset();
    return found;
}

bool Contents::read(const std::string& digest, const engine::ChunkSink& sink) {
    auto& find = m_connection.prepared("SELECT id, size FROM contents WHERE digest = ?");
    find.bind(1, digest);
    if (!find.step()) {
        return false;
    }
    const std::int64_t id = find.column_int(0);
    const std::int64_t size = find.column_int(1);
    find.reset();
    auto& chunks =
        m_connection.prepared("SELECT data FROM content_chunks WHERE content_id = ? ORDER BY seq");
    chunks.bind(1, id);
    Hasher hasher;
    std::int64_t total = 0;
    while (chunks.step()) {
        const auto bytes = chunks.column_blob(0);
        hasher.raw(bytes.data(), bytes.size());
        total += static_cast<std::int64_t>(bytes.size());
        sink(bytes);
    }
    chunks.reset();
    if (total != size || hasher.hex() != digest) {
        throw StoreError("a stored output's contents are damaged (" + digest + ")");
    }
    return true;
}

void Contents::refer(std::int64_t cache_id, std::string_view key,
                     const std::vector<std::string>& digests) {
    // Referred to now, it needs its pin no more: removing the entry removes it. (A process that
    // kept the same bytes for a write of its own that has not committed yet may then find them
    // gone, and not store its result: safe, and rare.)
    auto& unpin =
        m_connection.prepared("UPDATE contents SET pinned = NULL WHERE digest = ? RETURNING id");
    auto& add = m_connection.prepared(
        "INSERT OR IGNORE INTO content_refs(cache_id, key, content_id) VALUES(?, ?, ?)");
    for (const auto& digest : digests) {
        unpin.bind(1, digest);
        if (!unpin.step()) {
            unpin.reset();
            throw StoreError("an output's contents were removed before its result was stored");
        }
        const std::int64_t id = unpin.column_int(0);
        unpin.reset();
        add.bind(1, cache_id);
        add.bind(2, key);
        add.bind(3, id);
        add.run();
    }
}

namespace {
// The ids in the first column of the statement's rows (then reset).
std::vector<std::int64_t> returned_ids(Statement& statement) {
    std::vector<std::int64_t> ids;
    while (statement.step()) {
        ids.push_back(statement.column_int(0));
    }
    statement.reset();
    return ids;
}
} // namespace

void Contents::release(std::int64_t cache_id, std::string_view key) {
    remove_unreferenced(take_references("cache_id = ?1 AND key = ?2", cache_id, key));
}

bool Contents::any_referred_by(std::int64_t cache_id) {
    auto& any = m_connection.prepared("SELECT 1 FROM content_refs WHERE cache_id = ? LIMIT 1");
    any.bind(1, cache_id);
    const bool found = any.step();
    any.reset();
    return found;
}

void Contents::release_all(std::int64_t cache_id) {
    remove_unreferenced(take_references("cache_id = ?1", cache_id, std::nullopt));
}

std::vector<std::int64_t> Contents::take_references(const std::string& where,
                                                    std::int64_t cache_id,
                                                    std::optional<std::string_view> key) {
    // Looked up first, and deleted only when there are some (most entries refer to no
    // content): a DELETE ... RETURNING gathers its rows in a temporary b-tree, whose page cache
    // SQLite makes and frees at each run (three brk calls per write of an import).
    auto& referred = m_connection.prepared("SELECT content_id FROM content_refs WHERE " + where);
    referred.bind(1, cache_id);
    if (key) {
        referred.bind(2, *key);
    }
    std::vector<std::int64_t> ids = returned_ids(referred);
    if (!ids.empty()) {
        auto& forget = m_connection.prepared("DELETE FROM content_refs WHERE " + where);
        forget.bind(1, cache_id);
        if (key) {
            forget.bind(2, *key);
        }
        forget.run();
    }
    return ids;
}

void Contents::release_dangling(const CacheRow& row) {
    auto& forget = m_connection.prepared(
        "DELETE FROM content_refs WHERE cache_id = ?1 AND NOT EXISTS (SELECT 1 FROM " +
        Catalog::table(row) + " AS e WHERE e.key = content_refs.key) RETURNING content_id");
    forget.bind(1, row.id);
    remove_unreferenced(returned_ids(forget));
}

void Contents::remove_unreferenced(const std::vector<std::int64_t>& ids) {
    if (ids.empty()) {
        return;
    }
    auto& remove = m_connection.prepared(
        "DELETE FROM contents WHERE id = ?1 AND (pinned IS NULL OR pinned < ?2) AND NOT EXISTS "
        "(SELECT 1 FROM content_refs WHERE content_id = ?1)");
    const double now = m_connection.now();
    std::vector<std::int64_t> removed;
    for (const auto id : ids) {
        remove.bind(1, id);
        remove.bind(2, now);
        remove.run();
        if (m_connection.db().changes() > 0) {
            removed.push_back(id);
        }
    }
    remove_chunks(removed);
}

void Contents::remove_chunks(const std::vector<std::int64_t>& ids) {
    auto& chunks = m_connection.prepared("DELETE FROM content_chunks WHERE content_id = ?");
    for (const auto id : ids) {
        chunks.bind(1, id);
        chunks.run();
    }
}

std::int64_t Contents::sweep() {
    auto& orphans = m_connection.prepared(
        "DELETE FROM contents WHERE (pinned IS NULL OR pinned < ?) AND NOT EXISTS (SELECT 1 FROM "
        "content_refs WHERE content_id = contents.id) RETURNING id, size");
    orphans.bind(1, m_connection.now());
    std::vector<std::int64_t> ids;
    std::int64_t bytes = 0;
    while (orphans.step()) {
        ids.push_back(orphans.column_int(0));
        bytes += orphans.column_int(1);
    }
    orphans.reset();
    remove_chunks(ids);
    return bytes;
}

std::string Contents::entry_bytes(const CacheRow& row) {
    return "(length(e.value) + coalesce((SELECT sum(c.size) FROM content_refs AS r JOIN contents "
           "AS c ON c.id = r.content_id WHERE r.cache_id = " +
           std::to_string(row.id) + " AND r.key = e.key), 0))";
}

} // namespace cacheman::sqlite
