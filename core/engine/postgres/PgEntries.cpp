// PgEngine's entries, contents, size limits, garbage collection and lookup counts: the
// counterpart of sqlite/Entries.cpp, Contents.cpp and SqliteEngine's calls over them, with the
// same observable behaviour.
//
// - Lookups see live entries only (expires IS NULL or later than now()); writers purge the
//   expired ones lazily, when the cache's next_expiry (a lower bound) says one may be due.
// - A value larger than engine::k_largest_inline_value (or handed over as a LargeValue) lives
//   in cacheman.contents, in chunks of at most 1 MiB, named by entries.value_content; contents
//   are scoped by namespace and kept while an entry refers to them (content_refs) or their pin
//   (an hour after put_content) lasts. Every removal of entries goes through remove_entries,
//   which removes the contents that only the removed entries referred to.
// - entries.used orders eviction: the tick of the cacheman.use_clock sequence at the entry's
//   last store or folded hit.
#include "engine/postgres/PgEngine.hpp"

#include "base/Error.hpp"
#include "base/Hash.hpp"
#include "base/Names.hpp"
#include "base/Posix.hpp"
#include "engine/postgres/PgInCache.hpp"
#include "engine/postgres/PgSchema.hpp"

#include <cstring>
#include <limits>
#include <unistd.h>
#include <utility>

namespace cacheman::postgres {

using engine::Access;
using engine::Result;
using engine::Status;
using Kind = PgTransaction::Kind;

namespace {

// No chunk of a content is larger: a chunk is held in memory when written and when read.
constexpr std::size_t k_chunk = engine::k_largest_inline_value;
// How long a content kept for a write is safe from removal before that write refers to it.
constexpr double k_content_pin_seconds = 3600;
// Rows a scan fetches from its cursor at a time, with the values of at most k_scan_inline
// bytes among them (a larger one is read on its own when visited): memory stays bounded by
// k_scan_batch * k_scan_inline (16 MiB) and one value, whatever the cache holds.
constexpr int k_scan_batch = 256;
constexpr std::int64_t k_scan_inline = 64 * 1024;

constexpr const char* k_entry_bytes =
    "(length(e.value)::bigint + coalesce((SELECT sum(c.size) FROM cacheman.content_refs AS r "
    "JOIN cacheman.contents AS c ON c.id = r.content_id WHERE r.cache_id = e.cache_id AND "
    "r.key = e.key), 0))";

using Reader = std::function<void(const engine::ChunkSink&)>;

// A text[] literal of `values` (each quoted), for `= ANY($n::text[])`: one statement for any
// number of keys rather than one per key.
template <class Strings> std::string text_array(const Strings& values) {
    std::string out = "{";
    for (const auto& value : values) {
        out += out.size() > 1 ? ",\"" : "\"";
        for (const char c : value) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

std::int64_t namespace_of(PgConnection& db, const CacheRow& row) {
    // Read from the cache's row, not namespace_id(): inside the transaction that created the
    // namespace, its id must not be remembered before the commit.
    return db.exec("SELECT ns FROM cacheman.caches WHERE id = $1::bigint", {row.id}).integer(0, 0);
}

// --- contents --------------------------------------------------------------------------------

// Writes a content's bytes as they come, in chunks of k_chunk, hashing them on the way.
class ChunkWriter {
  public:
    ChunkWriter(PgConnection& db, std::int64_t content_id) : m_db(db), m_content_id(content_id) {}

    void add(std::string_view bytes) {
        m_hasher.raw(bytes.data(), bytes.size());
        m_total += bytes.size();
        while (!bytes.empty()) {
            const std::size_t take = std::min(bytes.size(), k_chunk - m_pending.size());
            m_pending.append(bytes.substr(0, take));
            bytes.remove_prefix(take);
            if (m_pending.size() == k_chunk) {
                flush();
            }
        }
    }
    // Writes the last, partial chunk; true when the bytes were `size` bytes hashing to `digest`.
    bool finish(const std::string& digest, std::uint64_t size) {
        if (!m_pending.empty()) {
            flush();
        }
        return m_total == size && m_hasher.hex() == digest;
    }

  private:
    void flush() {
        m_db.exec("INSERT INTO cacheman.content_chunks(content_id, seq, data) "
                  "VALUES ($1::bigint, $2::bigint, $3)",
                  {m_content_id, m_seq++, Param::bytes(m_pending)});
        m_pending.clear();
    }

    PgConnection& m_db;
    std::int64_t m_content_id;
    std::int64_t m_seq = 0;
    std::uint64_t m_total = 0;
    std::string m_pending;
    Hasher m_hasher;
};

// Keeps the bytes `read` yields under `digest` unless they are kept already, and pins the
// content until `pin_until` either way. Throws StoreError when they are not `size` bytes that
// hash to `digest` (the transaction then keeps nothing).
void keep_content(PgConnection& db, std::int64_t ns, const std::string& digest, std::uint64_t size,
                  double pin_until, const Reader& read) {
    Rows pinned = db.exec("UPDATE cacheman.contents SET pinned = greatest(coalesce(pinned, 0), "
                          "$3::float8) WHERE ns = $1::bigint AND digest = $2",
                          {ns, digest, pin_until});
    if (pinned.affected() > 0) {
        return; // kept already: pinned now, so that it stays until the write that refers to it
    }
    Rows made = db.exec("INSERT INTO cacheman.contents(ns, digest, size, pinned) "
                        "VALUES ($1::bigint, $2, $3::bigint, $4::float8) RETURNING id",
                        {ns, digest, static_cast<std::int64_t>(size), pin_until});
    ChunkWriter writer(db, made.integer(0, 0));
    read([&writer](std::string_view bytes) { writer.add(bytes); });
    if (!writer.finish(digest, size)) {
        throw StoreError("the bytes changed while they were being stored");
    }
}

Reader reader_of_fd(int fd) {
    return [fd](const engine::ChunkSink& sink) {
        ::lseek(fd, 0, SEEK_SET);
        if (const int error = read_to_end(fd, sink); error != 0) {
            throw StoreError(std::string("cannot read the bytes to store: ") +
                             std::strerror(error));
        }
    };
}

// Hands the content's chunks to `sink` one by one (one query each, so that only one chunk is
// in memory at a time); false when none is kept under `digest`. Throws StoreError when the
// chunks do not make the bytes the digest names (the store was damaged).
bool stream_content(PgConnection& db, std::int64_t ns, const std::string& digest,
                    const engine::ChunkSink& sink) {
    Rows found =
        db.exec("SELECT id, size FROM cacheman.contents WHERE ns = $1::bigint AND digest = $2",
                {ns, digest});
    if (found.empty()) {
        return false;
    }
    const std::int64_t id = found.integer(0, 0);
    const std::int64_t size = found.integer(0, 1);
    Hasher hasher;
    std::int64_t total = 0;
    for (std::int64_t seq = 0;; ++seq) {
        Rows chunk = db.exec("SELECT data FROM cacheman.content_chunks WHERE content_id = "
                             "$1::bigint AND seq = $2::bigint",
                             {id, seq});
        if (chunk.empty()) {
            break;
        }
        const std::string_view bytes = chunk.bytes(0, 0);
        hasher.raw(bytes.data(), bytes.size());
        total += static_cast<std::int64_t>(bytes.size());
        sink(bytes);
    }
    if (total != size || hasher.hex() != digest) {
        throw StoreError("a stored output's contents are damaged (" + digest + ")");
    }
    return true;
}

// Hands an entry's large value to `sink`; throws StoreError when its content is gone.
void stream_large_value(PgConnection& db, const CacheRow& row, const std::string& digest,
                        const engine::ChunkSink& sink) {
    if (!stream_content(db, namespace_of(db, row), digest, sink)) {
        throw StoreError("a stored value's contents are gone from the store (" + digest + ")");
    }
}

// Records that the entry refers to each content, unpinning it: referred to, it needs its pin no
// more (removing the entry removes it). Throws StoreError when one is not kept.
void refer(PgConnection& db, std::int64_t ns, const CacheRow& row, const std::string& key,
           const std::vector<std::string>& digests) {
    for (const auto& digest : digests) {
        Rows unpinned = db.exec("UPDATE cacheman.contents SET pinned = NULL WHERE ns = $1::bigint "
                                "AND digest = $2 RETURNING id",
                                {ns, digest});
        if (unpinned.empty()) {
            throw StoreError("an output's contents were removed before its result was stored");
        }
        db.exec("INSERT INTO cacheman.content_refs(cache_id, key, content_id) VALUES "
                "($1::bigint, $2, $3::bigint) ON CONFLICT DO NOTHING",
                {row.id, key, unpinned.integer(0, 0)});
    }
}

// Removes the contents among `ids` (a bigint[] literal) that nothing refers to any more and
// whose pin has passed.
void release_contents(PgConnection& db, const std::string& ids, double now) {
    db.exec("DELETE FROM cacheman.contents AS c WHERE c.id = ANY($1::bigint[]) AND "
            "(c.pinned IS NULL OR c.pinned < $2::float8) AND NOT EXISTS (SELECT 1 FROM "
            "cacheman.content_refs AS r WHERE r.content_id = c.id)",
            {ids, now});
}

// Removes every content of the namespace that nothing refers to and whose pin has passed;
// returns their bytes.
std::int64_t sweep_contents(PgConnection& db, std::int64_t ns, double now) {
    Rows swept =
        db.exec("WITH gone AS (DELETE FROM cacheman.contents AS c WHERE c.ns = $1::bigint AND "
                "(c.pinned IS NULL OR c.pinned < $2::float8) AND NOT EXISTS (SELECT 1 FROM "
                "cacheman.content_refs AS r WHERE r.content_id = c.id) RETURNING c.size) "
                "SELECT coalesce(sum(size), 0)::bigint FROM gone",
                {ns, now});
    return swept.integer(0, 0);
}

// --- removing entries ------------------------------------------------------------------------

// Deletes the entries (cacheman.entries aliased `e`) that `where` selects, with the contents
// that only they referred to; returns how many and their bytes. The one way entries go, so
// that no removal leaves a content behind (or a reference: nothing else removes those of a
// cache that stays). The bytes are read in the DELETE's RETURNING, from the statement's
// snapshot, which still holds the references that it removes. removal_of is its statement,
// finish_removal what follows it.
Statement removal_of(const std::string& where, const std::vector<Param>& params) {
    return Statement{std::string("WITH gone AS (DELETE FROM cacheman.entries AS e WHERE ") + where +
                         " RETURNING e.cache_id, e.key, " + k_entry_bytes +
                         " AS size), refs AS (DELETE FROM cacheman.content_refs AS r USING gone "
                         "AS g WHERE r.cache_id = g.cache_id AND r.key = g.key RETURNING "
                         "r.content_id) SELECT count(*), coalesce(sum(size), 0)::bigint, (SELECT "
                         "array_agg(DISTINCT content_id)::text FROM refs) FROM gone",
                     params};
}

// removal_of's deletion (without its counts) that also removes the contents that only the
// removed entries referred to and whose pin has passed (`now` as its last parameter): one
// statement with no rows to read, which may be deferred. (Its statements share one snapshot,
// which still holds the references it removes: those are set aside by their entry.)
Statement releasing_removal_of(const std::string& where, std::vector<Param> params, double now) {
    std::string at = "$"; // (appended piece by piece: g++ 12 warns of the chain falsely)
    at += std::to_string(params.size() + 1);
    at += "::float8";
    params.emplace_back(now);
    return Statement{"WITH gone AS (DELETE FROM cacheman.entries AS e WHERE " + where +
                         " RETURNING e.cache_id, e.key), refs AS (DELETE FROM "
                         "cacheman.content_refs AS r USING gone AS g WHERE r.cache_id = "
                         "g.cache_id AND r.key = g.key RETURNING r.content_id) DELETE FROM "
                         "cacheman.contents AS c WHERE c.id IN (SELECT content_id FROM refs) AND "
                         "(c.pinned IS NULL OR c.pinned < " + at +
                         ") AND NOT EXISTS (SELECT 1 FROM cacheman.content_refs AS r WHERE "
                         "r.content_id = c.id AND (r.cache_id, r.key) NOT IN (SELECT cache_id, "
                         "key FROM gone))",
                     std::move(params)};
}

// After the rows of a removal_of statement: removes the contents only those entries referred
// to; returns what the statement removed.
engine::Removed finish_removal(PgConnection& db, const Rows& gone, double now) {
    if (!gone.null(0, 2)) {
        release_contents(db, gone.text(0, 2), now);
    }
    return {gone.integer(0, 0), gone.integer(0, 1)};
}

engine::Removed remove_entries(PgConnection& db, const std::string& where,
                               const std::vector<Param>& params, double now) {
    const Statement removal = removal_of(where, params);
    return finish_removal(db, db.exec(removal.sql, removal.params), now);
}

// Deletes the expired entries of the caches that `caches` (a condition on cacheman.caches
// aliased `c`, with $1 = `id`) selects, and recomputes their expiry bounds.
engine::Removed purge_expired(PgConnection& db, const std::string& caches, std::int64_t id,
                              double now) {
    const engine::Removed removed =
        remove_entries(db,
                       "e.cache_id IN (SELECT c.id FROM cacheman.caches AS c WHERE " + caches +
                           ") AND e.expires <= $2::float8",
                       {id, now}, now);
    db.exec("UPDATE cacheman.caches AS c SET next_expiry = (SELECT min(x.expires) FROM "
            "cacheman.entries AS x WHERE x.cache_id = c.id) WHERE " +
                caches,
            {id});
    return removed;
}

void purge_expired_if_due(PgConnection& db, const CacheRow& row, double now) {
    if (row.next_expiry && *row.next_expiry <= now) {
        purge_expired(db, "c.id = $1::bigint", row.id, now);
    }
}

// Evicts the least recently used live entries of the cache until it is within its limits.
engine::Removed evict(PgConnection& db, const CacheRow& row, double now) {
    if (!row.has_limits()) {
        return {};
    }
    // Keeps the most recently used entries, newest first, while both running totals fit: the
    // rest (the least recently used) goes, and so does an entry too large for the limit on its
    // own (it is not counted in the totals, so that it does not push out the others).
    const std::string victims =
        std::string("SELECT key FROM (SELECT key, size, sum(CASE WHEN size <= $4::bigint THEN 1 "
                    "ELSE 0 END) OVER newest AS n, sum(CASE WHEN size <= $4::bigint THEN size "
                    "ELSE 0 END) OVER newest AS total FROM (SELECT e.key, coalesce(e.used, 0) AS "
                    "used, ") +
        k_entry_bytes +
        " AS size FROM cacheman.entries AS e WHERE e.cache_id = $1::bigint AND (e.expires IS "
        "NULL OR e.expires > $2::float8)) AS sized WINDOW newest AS (ORDER BY used DESC, key "
        "DESC ROWS UNBOUNDED PRECEDING)) AS ranked WHERE size > $4::bigint OR n > $3::bigint OR "
        "total > $4::bigint";
    constexpr auto k_none = std::numeric_limits<std::int64_t>::max();
    return remove_entries(
        db, "e.cache_id = $1::bigint AND e.key IN (" + victims + ")",
        {row.id, now, row.max_entries.value_or(k_none), row.max_bytes.value_or(k_none)}, now);
}

// Evicts the least recently used live entries of the namespace until they total at most
// `max_bytes` (ties by cache name, then key, as on SQLite).
engine::Removed evict_across(PgConnection& db, std::int64_t ns, std::int64_t max_bytes,
                             double now) {
    const std::string victims =
        std::string("SELECT cache_id, key FROM (SELECT cache_id, key, size, sum(CASE WHEN size "
                    "<= $3::bigint THEN size ELSE 0 END) OVER (ORDER BY used DESC, name DESC, "
                    "key DESC ROWS UNBOUNDED PRECEDING) AS total FROM (SELECT e.cache_id, "
                    "c.name, e.key, coalesce(e.used, 0) AS used, ") +
        k_entry_bytes +
        " AS size FROM cacheman.entries AS e JOIN cacheman.caches AS c ON c.id = e.cache_id "
        "WHERE c.ns = $1::bigint AND (e.expires IS NULL OR e.expires > $2::float8)) AS sized) "
        "AS ranked WHERE size > $3::bigint OR total > $3::bigint";
    return remove_entries(db, "(e.cache_id, e.key) IN (" + victims + ")", {ns, now, max_bytes},
                          now);
}

// --- writing entries -------------------------------------------------------------------------

void count_edits(PgConnection& db, const CacheRow& row, std::size_t count, double now) {
    if (!row.counts_edits || count == 0) {
        return;
    }
    db.defer({"INSERT INTO cacheman.edits(cache_id, bucket, count) VALUES ($1::bigint, "
              "$2::bigint, $3::bigint) ON CONFLICT (cache_id, bucket) DO UPDATE SET count = "
              "edits.count + EXCLUDED.count",
              {row.id, static_cast<std::int64_t>(now), static_cast<std::int64_t>(count)}});
}

void forget_edits(PgConnection& db, const CacheRow& row) {
    db.exec("DELETE FROM cacheman.edits WHERE cache_id = $1::bigint", {row.id});
}

// Lowers the cache's expiry bound to `expires` when it is earlier (deferred: with the
// transaction's next statement).
void note_expiry(PgConnection& db, const CacheRow& row, double expires) {
    db.defer({"UPDATE cacheman.caches SET next_expiry = $2::float8 WHERE id = $1::bigint AND "
              "(next_expiry IS NULL OR next_expiry > $2::float8)",
              {row.id, expires}});
}

std::optional<double> expiry_of(const engine::Write& write, const CacheRow& row, double now) {
    if (write.expires) {
        return write.expires;
    }
    const auto ttl_ms =
        write.ttl ? std::optional<std::int64_t>(write.ttl->count()) : row.default_ttl_ms;
    if (!ttl_ms) {
        return std::nullopt;
    }
    return now + static_cast<double>(*ttl_ms) / 1000.0;
}

// Writes one batch into a cache: every entry stored at one tick of the use clock. Writes of
// values held in their row are deferred (PgConnection::defer): sent in pipelines of many, the
// last with the commit.
class BatchWriter {
  public:
    BatchWriter(PgConnection& db, const CacheRow& row, double now)
        : m_db(db), m_row(row), m_now(now) {}

    // Writes the batch; returns how many writes it held.
    std::size_t write_all(const engine::WriteSource& writes) {
        std::size_t applied = 0;
        engine::Write write;
        while (writes(write)) {
            add(write);
            ++applied;
        }
        finish();
        return applied;
    }

    // Writes one entry of the batch (finish() ends it).
    void add(const engine::Write& write) {
        validate_key(write.key);
        try {
            write_one(write);
        } catch (const StoreError& error) {
            rethrow_with_context(error, "key " + quoted_for_message(write.key) + ": ");
        }
    }

    // Notes the earliest expiry the batch wrote.
    void finish() {
        if (m_earliest) {
            note_expiry(m_db, m_row, *m_earliest); // deferred
        }
    }

    // Keeps a content that the next write refers to unless it is kept already.
    void keep(const engine::LargeValue& content, double pin_until) {
        keep_content(m_db, ns(), content.digest, content.size, pin_until, content.read);
    }

  private:
    void write_one(const engine::Write& write) {
        const Statement removal = releasing_removal_of(
            "e.cache_id = $1::bigint AND e.key = $2", {m_row.id, write.key}, m_now);
        const auto large = write.value ? engine::content_value_of(write) : std::nullopt;
        if (!large && write.contents.empty()) {
            // Nothing to read back: the old entry's removal and the new one's insertion go
            // with the transaction's next statement (its commit, for one `set`).
            m_db.defer(removal);
            if (write.value) {
                m_db.defer(insertion(write, std::nullopt));
            }
            return;
        }
        // It refers to contents: the old entry's are released first, then the new one's kept
        // and referred to (a content both refer to stays).
        m_db.exec(removal.sql, removal.params);
        const std::optional<std::string> value_content = keep_large_value(large);
        const Statement insert = insertion(write, value_content);
        m_db.exec(insert.sql, insert.params);
        if (!write.contents.empty()) {
            refer(m_db, ns(), m_row, write.key, write.contents);
        }
        if (value_content) {
            refer(m_db, ns(), m_row, write.key, {*value_content});
        }
    }

    // The insertion of the write's entry (its value kept as `value_content` if any), noting its
    // expiry. The batch's entries share one tick of the use clock: the first takes it, the rest
    // read it back (currval: this connection's last, and nothing else on it takes one meanwhile).
    Statement insertion(const engine::Write& write, const std::optional<std::string>& value_content) {
        const std::optional<double> expires = expiry_of(write, m_row, m_now);
        if (expires && (!m_earliest || *expires < *m_earliest)) {
            m_earliest = expires;
        }
        const char* tick = m_ticked ? "currval('cacheman.use_clock')" : "nextval('cacheman.use_clock')";
        m_ticked = true;
        return Statement{std::string("INSERT INTO cacheman.entries(cache_id, key, expires, used, "
                                     "value, value_content) VALUES ($1::bigint, $2, $3::float8, ") +
                             tick + ", $4, $5)",
                         {m_row.id, write.key, expires,
                          Param::bytes(value_content ? std::string_view() : *write.value),
                          value_content}};
    }

    // Keeps a write's large value (handed over in pieces, or too large for a row) as a
    // content; returns its address, or nullopt for a value that stays in the row.
    std::optional<std::string> keep_large_value(const std::optional<engine::LargeValue>& large) {
        if (!large) {
            return std::nullopt;
        }
        keep_content(m_db, ns(), large->digest, large->size, m_now, large->read);
        return large->digest;
    }

    // The namespace's id, read when a content first needs it.
    std::int64_t ns() {
        if (!m_ns) {
            m_ns = namespace_of(m_db, m_row);
        }
        return *m_ns;
    }

    PgConnection& m_db;
    const CacheRow& m_row;
    double m_now;
    bool m_ticked = false; // the batch took its tick
    std::optional<std::int64_t> m_ns;
    std::optional<double> m_earliest;
};

// --- reading entries -------------------------------------------------------------------------

constexpr const char* k_live = "(expires IS NULL OR expires > $2::float8)";

std::optional<engine::Entry> get_entry(PgConnection& db, const CacheRow& row, std::string_view key,
                                       double now) {
    Rows found = db.exec(std::string("SELECT value, expires, value_content FROM cacheman.entries "
                                     "WHERE cache_id = $1::bigint AND ") +
                             k_live + " AND key = $3",
                         {row.id, now, std::string(key)});
    if (found.empty()) {
        return std::nullopt;
    }
    engine::Entry entry{found.text(0, 0), found.optional_real(0, 1)};
    if (const auto value_content = found.optional_text(0, 2)) {
        stream_large_value(db, row, *value_content,
                           [&entry](std::string_view piece) { entry.value += piece; });
    }
    return entry;
}

bool read_entry_value(PgConnection& db, const CacheRow& row, std::string_view key, double now,
                      const engine::ChunkSink& sink) {
    // An inline value is at most k_largest_inline_value: one piece.
    Rows found = db.exec(std::string("SELECT value, value_content FROM cacheman.entries WHERE "
                                     "cache_id = $1::bigint AND ") +
                             k_live + " AND key = $3",
                         {row.id, now, std::string(key)});
    if (found.empty()) {
        return false;
    }
    if (const auto value_content = found.optional_text(0, 1)) {
        stream_large_value(db, row, *value_content, sink);
    } else if (const std::string_view value = found.bytes(0, 0); !value.empty()) {
        sink(value);
    }
    return true;
}

// The contents the entry `key` refers to, with their sizes and readers (which read them in the
// current transaction).
std::vector<engine::LargeValue> referred_contents(PgConnection& db, const CacheRow& row,
                                                  std::string_view key) {
    Rows found = db.exec("SELECT t.digest, t.size FROM cacheman.content_refs r JOIN "
                         "cacheman.contents t ON t.id = r.content_id WHERE r.cache_id = "
                         "$1::bigint AND r.key = $2 ORDER BY t.digest",
                         {row.id, key});
    std::vector<engine::LargeValue> contents;
    for (int i = 0; i < found.size(); ++i) {
        std::string digest = found.text(i, 0);
        const auto size = static_cast<std::uint64_t>(found.integer(i, 1));
        contents.push_back({digest, size, [&db, &row, digest](const engine::ChunkSink& sink) {
                                stream_large_value(db, row, digest, sink);
                            }});
    }
    return contents;
}

// Visits the entries of one batch of scan_entries' cursor; false when it was empty.
bool visit_batch(PgConnection& db, const CacheRow& row, const Rows& batch,
                 const engine::EntryVisitor& visit) {
    for (int i = 0; i < batch.size(); ++i) {
        const std::string_view key = batch.bytes(i, 0);
        std::optional<Rows> large; // a value the cursor left out (over k_scan_inline bytes)
        if (batch.null(i, 2)) {
            large.emplace(db.exec("SELECT value FROM cacheman.entries WHERE cache_id = $1::bigint "
                                  "AND key = $2",
                                  {row.id, key}));
        }
        // Contents are looked up only for an entry that refers to some (column 4).
        const bool refers = batch.boolean(i, 4);
        engine::EntryView entry{key,
                                large ? large->bytes(0, 0) : batch.bytes(i, 2),
                                batch.optional_real(i, 1),
                                {},
                                {},
                                [&db, &row, key, refers] {
                                    return refers ? referred_contents(db, row, key)
                                                  : std::vector<engine::LargeValue>{};
                                }};
        const auto digest = batch.optional_text(i, 3);
        if (digest) {
            entry.value_content = *digest;
            entry.stream = [&db, &row, digest = *digest](const engine::ChunkSink& sink) {
                stream_large_value(db, row, digest, sink);
            };
        }
        visit(entry);
    }
    return !batch.empty();
}

// Visits the live entries through a cursor, a batch at a time, so that memory stays bounded
// whatever the cache holds; the read transaction makes it one snapshot.
void scan_entries(PgConnection& db, const CacheRow& row, double now,
                  const engine::EntryVisitor& visit) {
    db.exec(std::string("DECLARE cacheman_scan NO SCROLL CURSOR FOR SELECT key, expires, CASE "
                        "WHEN length(value) <= $3::bigint THEN value END, value_content, EXISTS "
                        "(SELECT 1 FROM cacheman.content_refs AS r WHERE r.cache_id = "
                        "e.cache_id AND r.key = e.key) FROM cacheman.entries AS e WHERE "
                        "cache_id = $1::bigint AND ") +
                k_live + " ORDER BY key",
            {row.id, now, k_scan_inline});
    const std::string fetch =
        "FETCH FORWARD " + std::to_string(k_scan_batch) + " FROM cacheman_scan";
    while (visit_batch(db, row, db.exec(fetch), visit)) {
    }
    db.exec("CLOSE cacheman_scan");
}

} // namespace

const char* PgEngine::entry_bytes_sql() {
    return k_entry_bytes;
}

// --- reads of one cache ------------------------------------------------------------------------

namespace {

// What a lookup reads first, in one statement: the clock, the layout's version, the namespace's
// id, the cache row (k_cache_row_columns) with its namespace and whether it is unbuilt, and the
// live entry's value, expiry and whether the value is a content ($1 namespace, $2 cache, $3
// key, $4 the test clock or NULL). k_found_* are its columns.
std::string found_sql() {
    return std::string("SELECT ") + k_server_clock +
           " AS now, (SELECT max(version)::bigint FROM cacheman.version) AS version, n.id AS "
           "ns_id, c.*, e.value, e.expires, e.value_content IS NOT NULL AS large FROM (SELECT 1) "
           "AS one LEFT JOIN cacheman.namespaces AS n ON n.name = $1 LEFT JOIN (SELECT " +
           k_cache_row_columns +
           ", ns, (builder IS NOT NULL AND NOT built) AS unbuilt FROM cacheman.caches WHERE name = "
           "$2) AS c ON c.ns = n.id LEFT JOIN cacheman.entries AS e ON e.cache_id = c.id AND e.key "
           "= $3 AND (e.expires IS NULL OR e.expires > coalesce($4::float8, " +
           k_server_clock + "))";
}
constexpr int k_found_version = 1;
constexpr int k_found_namespace = 2;
constexpr int k_found_cache = 3;
constexpr int k_found_value = k_found_cache + 10;
constexpr int k_found_expires = k_found_value + 1;
constexpr int k_found_large = k_found_value + 2;

// found_sql, and the lookup counted in the same statement (what count_lookup and the fold
// would write): the hit or miss into the statistics, a hit as the entry's use. Not counted:
// a missing cache, an unbuilt one read for built contents ($5), a content (read apart). The
// use skips an entry a writer holds; the commit does not wait for the disk; the lock timeout
// bounds a wait for the statistics row (set before the counting, which runs after the main
// query: a CTE it does not read).
std::string counted_sql() {
    return "WITH found AS (" + found_sql() +
           "), counting AS (SELECT * FROM found WHERE id IS NOT NULL AND NOT ($5::boolean AND "
           "unbuilt) AND NOT coalesce(large, false)), counted AS (INSERT INTO "
           "cacheman.stats(cache_id, hits, misses) SELECT id, (value IS NOT NULL)::int, (value "
           "IS NULL)::int FROM counting ON CONFLICT (cache_id) DO UPDATE SET hits = stats.hits + "
           "EXCLUDED.hits, misses = stats.misses + EXCLUDED.misses), used AS (UPDATE "
           "cacheman.entries SET used = (SELECT nextval('cacheman.use_clock')) WHERE (cache_id, "
           "key) IN (SELECT e.cache_id, e.key FROM cacheman.entries AS e JOIN counting AS f ON "
           "e.cache_id = f.id WHERE e.key = $3 AND f.value IS NOT NULL FOR UPDATE OF e SKIP "
           "LOCKED)) SELECT found.*, set_config('lock_timeout', '50ms', true), "
           "set_config('synchronous_commit', 'off', true) FROM found";
}

// Whether a failure of counted_sql may be a lookup's that cannot count (a role that may only
// read, a standby, a lock or a conflict: the server said why, and is still there): the plain
// lookup is tried then.
bool counting_refused(const PgConnection& db) {
    return !db.lost() && !db.last_sqlstate().empty();
}

} // namespace

std::optional<PgEngine::AtOnce> PgEngine::look_up_at_once(std::string_view cache,
                                                          std::string_view key, Access access,
                                                          bool count) {
    validate_cache_name(cache);
    validate_key(key);
    if (m_connection->transaction_started()) {
        return std::nullopt;
    }
    using Found = Result<std::optional<engine::Entry>>;
    count = count && m_lookups_count_themselves;
    try {
        std::vector<Param> params{m_namespace, std::string(cache), std::string(key), local_clock()};
        if (count) {
            params.emplace_back(access == Access::built ? "true" : "false");
        }
        std::optional<Rows> found;
        try {
            found.emplace(m_connection->exec_ahead(count ? counted_sql() : found_sql(), params));
        } catch (const StoreError&) {
            if (schema::layout_missing(*m_connection)) {
                remember(schema::Probe{});
                return AtOnce{Found{Status::no_cache, std::nullopt}, false};
            }
            if (!count || !counting_refused(*m_connection)) {
                throw;
            }
            m_lookups_count_themselves = false; // this process counts as the fold does
            return look_up_at_once(cache, key, access, false);
        }
        const Rows& row = *found;
        remember(schema::Probe{true,
                               schema::checked_version(*m_connection,
                                                       row.optional_integer(0, k_found_version)),
                               row.optional_integer(0, k_found_namespace)});
        if (row.null(0, k_found_cache)) {
            return AtOnce{Found{Status::no_cache, std::nullopt}, false};
        }
        if (access == Access::built && read_cache_row(row, 0, k_found_cache).needs_build) {
            return AtOnce{Found{Status::unbuilt, std::nullopt}, false};
        }
        if (row.null(0, k_found_value)) {
            return AtOnce{Found{Status::ok, std::nullopt}, count};
        }
        if (row.boolean(0, k_found_large)) {
            return std::nullopt; // a content: streamed in a transaction, which keeps it
        }
        return AtOnce{Found{Status::ok, engine::Entry{row.text(0, k_found_value),
                                                      row.optional_real(0, k_found_expires)}},
                      count};
    } catch (const StoreError& error) {
        rethrow_with_context(error, "cannot read cache " + quoted_for_message(cache) + ": ");
    }
}

Result<std::optional<engine::Entry>> PgEngine::get_in_transaction(std::string_view cache,
                                                                  std::string_view key,
                                                                  Access access) {
    return in_cache(cache, Kind::read, false, access, std::nullopt,
                    [&](CacheRow& row) { return get_entry(*m_connection, row, key, now()); });
}

Result<bool> PgEngine::read_in_transaction(std::string_view cache, std::string_view key,
                                           Access access, const engine::ChunkSink& sink) {
    return in_cache(cache, Kind::read, false, access, std::nullopt, [&](CacheRow& row) {
        return read_entry_value(*m_connection, row, key, now(), sink);
    });
}

Result<std::optional<engine::Entry>> PgEngine::get(std::string_view cache, std::string_view key,
                                                   Access access) {
    if (auto at_once = look_up_at_once(cache, key, access, false)) {
        return at_once->found;
    }
    return get_in_transaction(cache, key, access);
}

Result<std::optional<engine::Entry>> PgEngine::get_counted(std::string_view cache,
                                                           std::string_view key, Access access) {
    auto at_once = look_up_at_once(cache, key, access, true);
    auto found = at_once ? at_once->found : get_in_transaction(cache, key, access);
    if (found.ok() && !(at_once && at_once->counted)) {
        count_lookup(cache, key, found.value.has_value());
    }
    return found;
}

namespace {

// A value found at once handed to `sink` (an inline value is at most k_largest_inline_value:
// one piece); whether there was one.
Result<bool> delivered(const Result<std::optional<engine::Entry>>& found,
                       const engine::ChunkSink& sink) {
    if (found.value && !found.value->value.empty()) {
        sink(found.value->value);
    }
    return {found.status, found.value.has_value()};
}

} // namespace

Result<bool> PgEngine::read_value(std::string_view cache, std::string_view key, Access access,
                                  const engine::ChunkSink& sink) {
    if (auto at_once = look_up_at_once(cache, key, access, false)) {
        return delivered(at_once->found, sink);
    }
    return read_in_transaction(cache, key, access, sink);
}

Result<bool> PgEngine::read_value_counted(std::string_view cache, std::string_view key,
                                          Access access, const engine::ChunkSink& sink) {
    auto at_once = look_up_at_once(cache, key, access, true);
    auto found = at_once ? delivered(at_once->found, sink)
                         : read_in_transaction(cache, key, access, sink);
    if (found.ok() && !(at_once && at_once->counted)) {
        count_lookup(cache, key, found.value);
    }
    return found;
}

Result<std::vector<std::string>> PgEngine::keys(std::string_view cache, Access access) {
    return in_cache(cache, Kind::read, false, access, std::nullopt, [&](CacheRow& row) {
        Rows found = m_connection->exec(std::string("SELECT key FROM cacheman.entries WHERE "
                                                    "cache_id = $1::bigint AND ") +
                                            k_live + " ORDER BY key",
                                        {row.id, now()});
        std::vector<std::string> keys;
        keys.reserve(static_cast<std::size_t>(found.size()));
        for (int i = 0; i < found.size(); ++i) {
            keys.push_back(found.text(i, 0));
        }
        return keys;
    });
}

Result<std::size_t> PgEngine::count(std::string_view cache, Access access) {
    return in_cache(cache, Kind::read, false, access, std::nullopt, [&](CacheRow& row) {
        Rows found = m_connection->exec(std::string("SELECT count(*) FROM cacheman.entries WHERE "
                                                    "cache_id = $1::bigint AND ") +
                                            k_live,
                                        {row.id, now()});
        return static_cast<std::size_t>(found.integer(0, 0));
    });
}

Status PgEngine::scan(std::string_view cache, Access access, const engine::EntryVisitor& visit) {
    return in_cache(cache, Kind::read, false, access, std::nullopt,
                    [&](CacheRow& row) {
                        scan_entries(*m_connection, row, now(), visit);
                        return true;
                    })
        .status;
}

// --- edits of one cache ------------------------------------------------------------------------

Result<engine::Edited> PgEngine::apply(std::string_view cache, const engine::WriteSource& writes,
                                       Access access,
                                       const std::optional<engine::Generation>& only_if) {
    return in_cache(cache, Kind::write, true, access, only_if, [&](CacheRow& row) {
        if (row.has_limits()) {
            fold_pending_lookups(); // the uses before this write come before its entries
        }
        const double at = now();
        purge_expired_if_due(*m_connection, row, at);
        const std::size_t applied = BatchWriter(*m_connection, row, at).write_all(writes);
        evict(*m_connection, row, at);
        count_edits(*m_connection, row, applied, at);
        return engine::Edited{applied, row.counts_edits && applied > 0};
    });
}

engine::Generation PgEngine::generation(std::string_view cache) {
    validate_cache_name(cache);
    PgTransaction tx(*m_connection, Kind::read);
    return generation_of(find_cache(cache));
}

Result<engine::Edited> PgEngine::erase(std::string_view cache, const std::vector<std::string>& keys,
                                       Access access) {
    for (const auto& key : keys) {
        validate_key(key);
    }
    return in_cache(cache, Kind::write, false, access, std::nullopt, [&](CacheRow& row) {
        const double at = now();
        // After the purge, every entry left is live: what is removed below is what was seen.
        purge_expired_if_due(*m_connection, row, at);
        const engine::Removed gone =
            remove_entries(*m_connection, "e.cache_id = $1::bigint AND e.key = ANY($2::text[])",
                           {row.id, text_array(keys)}, at);
        const auto removed = static_cast<std::size_t>(gone.entries);
        count_edits(*m_connection, row, removed, at);
        return engine::Edited{removed, row.counts_edits && removed > 0};
    });
}

void PgEngine::replace_contents(std::string_view cache, const engine::WriteSource& writes,
                                bool built) {
    in_cache(cache, Kind::write, true, Access::raw, std::nullopt, [&](CacheRow& row) {
        clear_entries({row.id});
        const double at = now();
        BatchWriter(*m_connection, row, at).write_all(writes);
        evict(*m_connection, row, at);
        m_connection->exec("UPDATE cacheman.caches SET built = $2::boolean WHERE id = $1::bigint",
                           {row.id, built ? "true" : "false"});
        forget_edits(*m_connection, row);
        return true;
    });
}

void PgEngine::receive_entries(const CacheRow& row, const std::string& cache,
                               const engine::NamespaceImage& image) {
    const double at = now();
    BatchWriter writer(*m_connection, row, at);
    image.entries(cache, [&](const engine::Write& write,
                             const std::vector<engine::LargeValue>& contents) {
        for (const auto& content : contents) {
            writer.keep(content, at + k_content_pin_seconds);
        }
        writer.add(write);
    });
    writer.finish();
}

engine::Removed PgEngine::remove_entry(const CacheRow& row, const std::string& key) {
    return remove_entries(*m_connection, "e.cache_id = $1::bigint AND e.key = $2", {row.id, key},
                          now());
}

void PgEngine::clear_entries(const std::vector<std::int64_t>& caches) {
    // Set-based, not by remove_entries: nothing per entry is needed (no sizes, no per-row
    // references), so the cost is the rows deleted, not round trips or subqueries per entry.
    const Param ids = Param::ids(caches);
    std::vector<Rows> rows = m_connection->pipeline(
        {{"WITH refs AS (DELETE FROM cacheman.content_refs WHERE cache_id = ANY($1::bigint[]) "
          "RETURNING content_id), gone AS (DELETE FROM cacheman.entries WHERE cache_id = "
          "ANY($1::bigint[])) SELECT (SELECT array_agg(DISTINCT content_id)::text FROM refs)",
          {ids}},
         {"UPDATE cacheman.caches SET next_expiry = NULL WHERE id = ANY($1::bigint[])", {ids}}});
    if (!rows.front().null(0, 0)) {
        release_contents(*m_connection, rows.front().text(0, 0), now());
    }
}

void PgEngine::enforce_limits(const CacheRow& row) {
    if (!row.has_limits()) {
        return;
    }
    fold_pending_lookups();
    evict(*m_connection, row, now());
}

// --- lookup counts -----------------------------------------------------------------------------

void PgEngine::count_lookup(std::string_view cache, std::optional<std::string_view> key,
                            bool hit) noexcept {
    try {
        auto found = m_pending_lookups.find(cache);
        if (found == m_pending_lookups.end()) {
            found = m_pending_lookups.emplace(std::string(cache), PendingLookups{}).first;
        }
        auto& pending = found->second;
        (hit ? pending.hits : pending.misses) += 1;
        if (hit && key) {
            pending.used_keys.emplace(*key);
        }
    } catch (...) { // NOLINT(bugprone-empty-catch): counting must never make a lookup fail
    }
}

std::vector<Statement> PgEngine::take_lookup_folds() {
    // Taken before they are written: a transaction that rolls back loses them, as on SQLite
    // (the counts are approximate by design).
    const auto pending = std::exchange(m_pending_lookups, {});
    const auto ns = namespace_id();
    std::vector<Statement> statements;
    if (!ns) {
        return statements; // no cache was there to count
    }
    // By the cache's name: a cache dropped meanwhile matches no row. The uses of one cache
    // share one tick (an uncorrelated subquery is evaluated once): which came first is not
    // kept. An entry another transaction holds is skipped rather than waited for: that writer
    // is storing it again, which makes it recently used anyway.
    for (const auto& [cache, lookups] : pending) {
        statements.push_back(Statement{
            "INSERT INTO cacheman.stats(cache_id, hits, misses) SELECT id, $3::bigint, $4::bigint "
            "FROM cacheman.caches WHERE ns = $1::bigint AND name = $2 ON CONFLICT (cache_id) DO "
            "UPDATE SET hits = stats.hits + EXCLUDED.hits, misses = stats.misses + EXCLUDED.misses",
            {*ns, cache, lookups.hits, lookups.misses}});
        if (!lookups.used_keys.empty()) {
            statements.push_back(Statement{
                "UPDATE cacheman.entries SET used = (SELECT nextval('cacheman.use_clock')) WHERE "
                "(cache_id, key) IN (SELECT e.cache_id, e.key FROM cacheman.entries AS e JOIN "
                "cacheman.caches AS c ON c.id = e.cache_id WHERE c.ns = $1::bigint AND c.name = "
                "$2 AND e.key = ANY($3::text[]) FOR UPDATE OF e SKIP LOCKED)",
                {*ns, cache, text_array(lookups.used_keys)}});
        }
    }
    return statements;
}

void PgEngine::fold_pending_lookups() {
    if (!m_pending_lookups.empty()) {
        m_connection->pipeline(take_lookup_folds());
    }
}

void PgEngine::fold_lookup_counts() {
    if (m_pending_lookups.empty()) {
        return;
    }
    // Without the namespace's write lock, and from a store opened for reading too (a `get`
    // counts its lookup when it ends): the statements are upserts and updates that skip
    // locked rows, safe beside any writer. The lock timeout bounds the wait for a statistics
    // row another fold holds: counts may drop, not wait; and the commit does not wait for the
    // server's disk (a crash of the server may lose the last counts, nothing else), so that a
    // `get` is not a durable write. One round trip, commit included.
    std::vector<Statement> statements{{"SELECT set_config('lock_timeout', '50ms', true), "
                                       "set_config('synchronous_commit', 'off', true)",
                                       {}}};
    std::vector<Statement> folds = take_lookup_folds();
    if (folds.empty()) {
        return;
    }
    statements.insert(statements.end(), std::make_move_iterator(folds.begin()),
                      std::make_move_iterator(folds.end()));
    PgTransaction tx(*m_connection, Kind::write);
    tx.commit_after(statements);
}

// --- contents ----------------------------------------------------------------------------------

void PgEngine::put_content(const std::string& digest, int fd, std::uint64_t size) {
    PgTransaction tx(*m_connection, Kind::write);
    write_lock();
    const std::int64_t ns = ensure_namespace();
    keep_content(*m_connection, ns, digest, size, now() + k_content_pin_seconds, reader_of_fd(fd));
    tx.commit();
}

bool PgEngine::read_content(const std::string& digest, const engine::ChunkSink& sink) {
    PgTransaction tx(*m_connection, Kind::read);
    const auto ns = namespace_id();
    const bool found = ns && stream_content(*m_connection, *ns, digest, sink);
    tx.commit();
    return found;
}

// --- size --------------------------------------------------------------------------------------

engine::Removed PgEngine::collect_garbage(std::optional<std::int64_t> max_bytes) {
    PgTransaction tx(*m_connection, Kind::write);
    write_lock();
    const auto ns = namespace_id();
    if (!ns) {
        return {}; // nothing was ever written
    }
    fold_pending_lookups();
    const double at = now();
    engine::Removed removed = purge_expired(*m_connection, "c.ns = $1::bigint", *ns, at);
    Rows limited = m_connection->exec(
        "SELECT name FROM cacheman.caches WHERE ns = $1::bigint AND (max_entries IS NOT NULL OR "
        "max_bytes IS NOT NULL)",
        {*ns});
    for (int i = 0; i < limited.size(); ++i) {
        if (const auto row = find_cache(limited.bytes(i, 0))) {
            removed += evict(*m_connection, *row, at);
        }
    }
    if (max_bytes) {
        removed += evict_across(*m_connection, *ns, *max_bytes, at);
    }
    removed.bytes += sweep_contents(*m_connection, *ns, at);
    tx.commit();
    return removed;
}

// A no-op on PostgreSQL: the space of deleted rows is reclaimed by autovacuum for the tables'
// reuse, without blocking anyone. Giving it back to the file system takes VACUUM FULL, which
// holds an ACCESS EXCLUSIVE lock on the tables (blocking every reader of every namespace on the
// server) for as long as it rewrites them: the contract says readers are never blocked. A plain
// VACUUM would not block, but it only truncates free pages at a table's end, needs the tables'
// owner, and covers every namespace of the server: that is the server administrator's business.
void PgEngine::compact() {}

} // namespace cacheman::postgres
