#include "Store.hpp"

#include "Error.hpp"
#include "Graph.hpp"
#include "Json.hpp"
#include "Names.hpp"
#include "Schema.hpp"
#include "sqlite/Transaction.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cacheman {

using sqlite::Transaction;

namespace {

constexpr std::string_view k_live = "(expires IS NULL OR expires > ?)";

std::string system_message(const std::string& what, const std::string& path) {
    return what + ": " + std::strerror(errno) + " (" + path + ")";
}

// mkdir -p, creating each missing component with mode 0700.
void ensure_directory(const std::string& dir) {
    struct stat info {};
    if (stat(dir.c_str(), &info) == 0) {
        if (!S_ISDIR(info.st_mode)) {
            errno = ENOTDIR;
            throw StoreError(system_message("cannot use store directory", dir));
        }
        return;
    }
    const auto slash = dir.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
        ensure_directory(dir.substr(0, slash));
    }
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw StoreError(system_message("cannot create store directory", dir));
    }
}

// Creates the store file with mode 0600 unless it exists. SQLite would create it with 0644.
void ensure_store_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ::close(fd);
        return;
    }
    if (errno != EEXIST) {
        throw StoreError(system_message("cannot create store", path));
    }
}

bool has_sqlite_header(const std::string& path) {
    constexpr std::string_view k_magic{"SQLite format 3\0", 16};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw StoreError(system_message("cannot open store", path));
    }
    char header[16];
    const ssize_t got = ::read(fd, header, sizeof header);
    ::close(fd);
    return got == sizeof header && std::string_view(header, sizeof header) == k_magic;
}

void require_name(std::string_view cache) {
    validate_cache_name(cache);
}

std::string name_for_message(std::string_view cache) {
    return "'" + std::string(cache) + "'";
}

} // namespace

Store::Store(std::unique_ptr<sqlite::Database> db, StoreOptions options)
    : m_db(std::move(db)), m_options(std::move(options)) {}

Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Store Store::open(const Location& location, OpenMode mode, StoreOptions options) {
    const std::string path = location.path();
    struct stat info {};
    const bool exists = stat(path.c_str(), &info) == 0;
    if (!exists && errno != ENOENT) {
        throw StoreError(system_message("cannot access store", path));
    }
    if (!exists && mode != OpenMode::create) {
        return open_in_memory(std::move(options));
    }
    if (!exists) {
        ensure_directory(location.dir);
        ensure_store_file(path);
    } else if (!S_ISREG(info.st_mode)) {
        throw StoreError("store path is not a regular file (" + path + ")");
    } else if (info.st_size > 0 && !has_sqlite_header(path)) {
        // SQLite would take a file too short to hold a header for an empty database.
        throw StoreError("not a cacheman store; leaving it untouched (" + path + ")");
    }
    const int busy = options.busy_timeout_ms;
    Store store(std::make_unique<sqlite::Database>(path, sqlite::Database::Mode::read_write, busy),
                std::move(options));
    store.identify_or_initialise();
    if (mode != OpenMode::read) {
        // WAL makes a commit one append; NORMAL syncs at checkpoints, which keeps every committed
        // transaction across a process crash (the contract) and the file consistent on power loss.
        store.m_db->exec("PRAGMA synchronous = NORMAL");
    }
    return store;
}

Store Store::open_in_memory(StoreOptions options) {
    const int busy = options.busy_timeout_ms;
    Store store(
        std::make_unique<sqlite::Database>(":memory:", sqlite::Database::Mode::read_write, busy),
        std::move(options));
    store.identify_or_initialise();
    return store;
}

void Store::identify_or_initialise() {
    auto read_header = [&] {
        auto& application = prepared("PRAGMA application_id");
        application.step();
        const auto app = application.column_int(0);
        application.reset();
        auto& version = prepared("PRAGMA user_version");
        version.step();
        const auto ver = version.column_int(0);
        version.reset();
        return std::pair{app, ver};
    };
    auto [app, version] = read_header();
    if (app == schema::k_application_id && version == schema::k_latest_version) {
        return;
    }
    // A database with another application id, or with anything in it, belongs to someone else.
    // One with nothing in it (a zero-byte file, or one another cacheman process is initialising
    // right now) is ours to initialise: there is nothing in it to lose. Decided under the write
    // lock, where the header and the schema are read in one consistent snapshot.
    const auto foreign = [&] {
        if (app == schema::k_application_id) {
            return false;
        }
        auto& objects = prepared("SELECT count(*) FROM sqlite_master");
        objects.step();
        const bool has_objects = objects.column_int(0) > 0;
        objects.reset();
        return app != 0 || has_objects;
    };
    if (app != 0 && app != schema::k_application_id) {
        throw StoreError("not a cacheman store; leaving it untouched (" + path() + ")");
    }
    if (version > schema::k_latest_version) {
        throw StoreError("store has schema version " + std::to_string(version) +
                         ", newer than this cacheman understands (" +
                         std::to_string(schema::k_latest_version) + "); upgrade cacheman (" +
                         path() + ")");
    }
    const bool on_disk = path() != ":memory:";
    if (app == 0 && on_disk && page_count() == 0) {
        // A file with nothing in it: switch to WAL before the first table exists, so that no
        // other process ever sees the store in another journal mode.
        m_db->exec("PRAGMA journal_mode = WAL");
    }
    bool created = false;
    {
        // Re-read inside the write transaction: another process may have initialised or
        // migrated the store while this one waited for the lock.
        Transaction tx(*m_db, Transaction::Kind::write);
        std::tie(app, version) = read_header();
        if (foreign()) {
            throw StoreError("not a cacheman store; leaving it untouched (" + path() + ")");
        }
        if (app == 0) {
            schema::create(*m_db);
            created = true;
        } else if (app == schema::k_application_id && version < schema::k_latest_version) {
            schema::migrate(*m_db, static_cast<int>(version));
        }
        tx.commit();
    }
    if (created && on_disk) {
        m_db->exec("PRAGMA journal_mode = WAL"); // a no-op unless the file was not empty
    }
}

std::int64_t Store::page_count() {
    auto& pages = prepared("PRAGMA page_count");
    pages.step();
    const auto count = pages.column_int(0);
    pages.reset();
    return count;
}

double Store::now() const {
    if (m_options.clock) {
        return m_options.clock();
    }
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

sqlite::Statement& Store::prepared(const std::string& sql) {
    auto found = m_statements.find(sql);
    if (found == m_statements.end()) {
        found = m_statements.emplace(sql, sqlite::Statement(*m_db, sql)).first;
    } else {
        found->second.reset();
    }
    return found->second;
}

std::optional<Store::CacheRow> Store::find_cache(std::string_view cache) {
    auto& query = prepared("SELECT id, next_expiry FROM caches WHERE name = ?");
    query.bind(1, cache);
    if (!query.step()) {
        return std::nullopt;
    }
    CacheRow row{query.column_int(0), std::nullopt};
    if (!query.is_null(1)) {
        row.next_expiry = query.column_double(1);
    }
    query.reset();
    return row;
}

Store::CacheRow Store::require_cache(std::string_view cache) {
    require_name(cache);
    if (auto row = find_cache(cache)) {
        return *row;
    }
    throw NotFoundError("no such cache " + name_for_message(cache));
}

Store::CacheRow Store::ensure_cache(std::string_view cache) {
    require_name(cache);
    if (auto row = find_cache(cache)) {
        return *row;
    }
    auto& insert = prepared("INSERT INTO caches(name, created) VALUES(?, ?)");
    insert.bind(1, cache);
    insert.bind(2, now());
    insert.run();
    const CacheRow row{m_db->last_insert_rowid(), std::nullopt};
    m_db->exec(schema::create_entries_table(row.id));
    return row;
}

Graph Store::load_graph() {
    std::vector<Edge> edges;
    auto& query = prepared("SELECT parent, child FROM depends");
    while (query.step()) {
        edges.push_back({std::string(query.column_text(0)), std::string(query.column_text(1))});
    }
    query.reset();
    return Graph(edges);
}

void Store::clear(const CacheRow& row, double when) {
    prepared("DELETE FROM " + schema::entries_table(row.id)).run();
    auto& mark = prepared("UPDATE caches SET invalidated = ?, next_expiry = NULL WHERE id = ?");
    mark.bind(1, when);
    mark.bind(2, static_cast<std::int64_t>(row.id));
    mark.run();
}

void Store::purge_expired_if_due(CacheRow& row) {
    const double current = now();
    if (!row.next_expiry || *row.next_expiry > current) {
        return;
    }
    const std::string table = schema::entries_table(row.id);
    auto& purge = prepared("DELETE FROM " + table + " WHERE expires <= ?");
    purge.bind(1, current);
    purge.run();
    auto& next = prepared("UPDATE caches SET next_expiry = (SELECT min(expires) FROM " + table +
                          ") WHERE id = ? RETURNING next_expiry");
    next.bind(1, static_cast<std::int64_t>(row.id));
    next.step();
    row.next_expiry =
        next.is_null(0) ? std::nullopt : std::optional<double>(next.column_double(0));
    next.reset();
}

void Store::note_expiry(CacheRow& row, double expires) {
    if (row.next_expiry && *row.next_expiry <= expires) {
        return;
    }
    row.next_expiry = expires;
    auto& update = prepared("UPDATE caches SET next_expiry = ? WHERE id = ?");
    update.bind(1, expires);
    update.bind(2, static_cast<std::int64_t>(row.id));
    update.run();
}

// --- reads -----------------------------------------------------------------------------------

std::optional<std::string> Store::get(std::string_view cache, std::string_view key) {
    auto entry = get_entry(cache, key);
    return entry ? std::optional<std::string>(std::move(entry->value)) : std::nullopt;
}

std::optional<Store::Entry> Store::get_entry(std::string_view cache, std::string_view key) {
    validate_key(key);
    Transaction tx(*m_db, Transaction::Kind::read);
    const CacheRow row = require_cache(cache);
    auto& query = prepared("SELECT value, expires FROM " + schema::entries_table(row.id) +
                           " WHERE key = ? AND " + std::string(k_live));
    query.bind(1, key);
    query.bind(2, now());
    if (!query.step()) {
        return std::nullopt;
    }
    Entry entry{std::string(query.column_blob(0)),
                query.is_null(1) ? std::nullopt : std::optional<double>(query.column_double(1))};
    query.reset();
    return entry;
}

bool Store::has_cache(std::string_view cache) {
    require_name(cache);
    return find_cache(cache).has_value();
}

std::vector<std::string> Store::keys(std::string_view cache) {
    Transaction tx(*m_db, Transaction::Kind::read);
    const CacheRow row = require_cache(cache);
    auto& query = prepared("SELECT key FROM " + schema::entries_table(row.id) + " WHERE " +
                           std::string(k_live) + " ORDER BY key");
    query.bind(1, now());
    std::vector<std::string> keys;
    while (query.step()) {
        keys.emplace_back(query.column_text(0));
    }
    query.reset();
    return keys;
}

std::vector<CacheSummary> Store::list() {
    Transaction tx(*m_db, Transaction::Kind::read);
    const Graph graph = load_graph();
    std::vector<std::pair<std::string, std::int64_t>> caches;
    auto& names = prepared("SELECT name, id FROM caches ORDER BY name");
    while (names.step()) {
        caches.emplace_back(names.column_text(0), names.column_int(1));
    }
    names.reset();
    const double current = now();
    std::vector<CacheSummary> out;
    for (auto& [name, id] : caches) {
        auto& count = prepared("SELECT count(*), coalesce(sum(length(value)), 0) FROM " +
                               schema::entries_table(id) + " WHERE " + std::string(k_live));
        count.bind(1, current);
        count.step();
        CacheSummary summary{name, count.column_int(0), count.column_int(1), graph.parents(name),
                             graph.children(name)};
        count.reset();
        out.push_back(std::move(summary));
    }
    return out;
}

Dependencies Store::dependencies(std::string_view cache, bool transitive) {
    Transaction tx(*m_db, Transaction::Kind::read);
    require_cache(cache);
    const Graph graph = load_graph();
    const std::string name(cache);
    if (!transitive) {
        return {graph.parents(name), graph.children(name)};
    }
    return {graph.ancestors(name), graph.descendants(name)};
}

void Store::export_entries(std::string_view cache,
                           const std::function<void(std::string_view)>& sink) {
    Transaction tx(*m_db, Transaction::Kind::read);
    const CacheRow row = require_cache(cache);
    auto& query = prepared("SELECT key, expires, value FROM " + schema::entries_table(row.id) +
                           " WHERE " + std::string(k_live) + " ORDER BY key");
    query.bind(1, now());
    constexpr std::size_t k_chunk = 1 << 16;
    std::string buffer;
    buffer.reserve(k_chunk * 2);
    while (query.step()) {
        const std::optional<double> expires =
            query.is_null(1) ? std::nullopt : std::optional<double>(query.column_double(1));
        json::append_entry(buffer, query.column_text(0), query.column_blob(2), expires);
        buffer += '\n';
        if (buffer.size() >= k_chunk) {
            sink(buffer);
            buffer.clear();
        }
    }
    query.reset();
    if (!buffer.empty()) {
        sink(buffer);
    }
}

// --- writes ----------------------------------------------------------------------------------

void Store::set(std::string_view cache, std::string_view key, std::string_view value,
                std::optional<Duration> ttl) {
    validate_key(key);
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = ensure_cache(cache);
    purge_expired_if_due(row);
    std::optional<double> expires;
    if (ttl) {
        expires = now() + static_cast<double>(ttl->count()) / 1000.0;
        note_expiry(row, *expires);
    }
    auto& insert = prepared("INSERT OR REPLACE INTO " + schema::entries_table(row.id) +
                            "(key, expires, value) VALUES(?, ?, ?)");
    insert.bind(1, key);
    insert.bind(2, expires);
    insert.bind_blob(3, value);
    insert.run();
    tx.commit();
}

std::size_t Store::erase(std::string_view cache, const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
        validate_key(key);
    }
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = require_cache(cache);
    purge_expired_if_due(row);
    auto& remove = prepared("DELETE FROM " + schema::entries_table(row.id) + " WHERE key = ?");
    std::size_t removed = 0;
    for (const auto& key : keys) {
        remove.bind(1, key);
        remove.run();
        removed += static_cast<std::size_t>(m_db->changes());
    }
    tx.commit();
    return removed;
}

void Store::depend(std::string_view parent, std::string_view child) {
    require_name(parent);
    require_name(child);
    Transaction tx(*m_db, Transaction::Kind::write);
    if (auto cycle = load_graph().cycle_if_added(std::string(parent), std::string(child))) {
        throw UsageError("dependency would close a cycle: " + format_path(*cycle));
    }
    ensure_cache(parent);
    ensure_cache(child);
    auto& insert = prepared("INSERT OR IGNORE INTO depends(parent, child) VALUES(?, ?)");
    insert.bind(1, parent);
    insert.bind(2, child);
    insert.run();
    tx.commit();
}

void Store::undepend(std::string_view parent, std::string_view child) {
    require_name(parent);
    require_name(child);
    Transaction tx(*m_db, Transaction::Kind::write);
    auto& remove = prepared("DELETE FROM depends WHERE parent = ? AND child = ?");
    remove.bind(1, parent);
    remove.bind(2, child);
    remove.run();
    if (m_db->changes() == 0) {
        throw NotFoundError("no dependency " + name_for_message(parent) + " -> " +
                            name_for_message(child));
    }
    tx.commit();
}

std::vector<std::string> Store::invalidate(std::string_view cache,
                                            const std::optional<std::string>& key, bool dry_run) {
    if (key) {
        validate_key(*key);
    }
    Transaction tx(*m_db, dry_run ? Transaction::Kind::read : Transaction::Kind::write);
    const CacheRow root = require_cache(cache);
    std::vector<std::string> cleared{std::string(cache)};
    const auto dependents = load_graph().descendants(cleared.front());
    cleared.insert(cleared.end(), dependents.begin(), dependents.end());
    if (dry_run) {
        return cleared;
    }
    const double when = now();
    if (key) {
        auto& remove =
            prepared("DELETE FROM " + schema::entries_table(root.id) + " WHERE key = ?");
        remove.bind(1, *key);
        remove.run();
    } else {
        clear(root, when);
    }
    for (const auto& dependent : dependents) {
        clear(require_cache(dependent), when);
    }
    tx.commit();
    return cleared;
}

std::vector<std::string> Store::drop(std::string_view cache) {
    Transaction tx(*m_db, Transaction::Kind::write);
    const CacheRow root = require_cache(cache);
    const auto dependents = load_graph().descendants(std::string(cache));
    const double when = now();
    for (const auto& dependent : dependents) {
        clear(require_cache(dependent), when);
    }
    auto& edges = prepared("DELETE FROM depends WHERE parent = ?1 OR child = ?1");
    edges.bind(1, cache);
    edges.run();
    auto& row = prepared("DELETE FROM caches WHERE id = ?");
    row.bind(1, static_cast<std::int64_t>(root.id));
    row.run();
    m_db->exec("DROP TABLE " + schema::entries_table(root.id));
    tx.commit();
    return dependents;
}

std::size_t Store::import_entries(std::string_view cache, std::string_view data,
                                  std::string_view source_name) {
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = ensure_cache(cache);
    purge_expired_if_due(row);
    auto& insert = prepared("INSERT OR REPLACE INTO " + schema::entries_table(row.id) +
                            "(key, expires, value) VALUES(?, ?, ?)");
    std::optional<double> earliest;
    std::size_t line_number = 0;
    std::size_t imported = 0;
    while (!data.empty()) {
        const auto end = data.find('\n');
        const std::string_view line = data.substr(0, end);
        data.remove_prefix(end == std::string_view::npos ? data.size() : end + 1);
        ++line_number;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            continue;
        }
        json::Entry entry;
        try {
            entry = json::parse_entry(line);
        } catch (const UsageError& error) {
            throw UsageError("malformed import line " + std::to_string(line_number) + ": " +
                             error.what() + " (" + std::string(source_name) + ")");
        }
        if (entry.expires && (!earliest || *entry.expires < *earliest)) {
            earliest = entry.expires;
        }
        insert.bind(1, entry.key);
        insert.bind(2, entry.expires);
        insert.bind_blob(3, entry.value);
        insert.run();
        ++imported;
    }
    if (earliest) {
        note_expiry(row, *earliest);
    }
    tx.commit();
    return imported;
}

} // namespace cacheman
