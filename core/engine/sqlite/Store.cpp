#include "engine/sqlite/Store.hpp"

#include "base/Clock.hpp"
#include "base/Error.hpp"
#include "graph/Graph.hpp"
#include "jsonl/Json.hpp"
#include "base/Names.hpp"
#include "engine/sqlite/Schema.hpp"
#include "engine/sqlite/Transaction.hpp"

#include <algorithm>
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
constexpr std::size_t k_progress_every = 4096;

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

void require_private(const std::string& path) {
    struct stat info {};
    if (lstat(path.c_str(), &info) != 0) {
        throw StoreError(system_message("cannot use volatile store", path));
    }
    if (info.st_uid != geteuid() || (info.st_mode & 077) != 0 || S_ISLNK(info.st_mode)) {
        throw StoreError("refusing a volatile store path that is not private to you (owned by "
                         "you, no access for others): " +
                         path);
    }
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
    }
    const int busy = options.busy_timeout_ms;
    Store store(std::make_unique<sqlite::Database>(path, sqlite::Database::Mode::read_write, busy),
                std::move(options));
    store.identify_or_initialise(exists ? static_cast<std::int64_t>(info.st_size) : 0);
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
    store.identify_or_initialise(0);
    return store;
}

void Store::identify_or_initialise(std::int64_t file_size) {
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
    if (app == 0 && file_size > 0 && page_count() == 0) {
        // A file too short to hold one page: SQLite takes it for an empty database, but it is
        // not one (a real one always holds a whole page). Checked only where a file would be
        // initialised, not on every open; and not by opening the file again, since closing a
        // second descriptor would drop SQLite's POSIX locks on it.
        throw StoreError("not a cacheman store; leaving it untouched (" + path() + ")");
    }
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
    return unix_now(m_options.clock);
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
    auto& query = prepared("SELECT id, next_expiry, volatile, builder IS NOT NULL AND built = 0, "
                           "saver IS NOT NULL AND coalesce(autosync, 1), default_ttl_ms "
                           "FROM caches WHERE name = ?");
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
    query.reset();
    return row;
}

std::string Store::table(const CacheRow& row) const {
    return schema::entries_table(row.id, row.is_volatile);
}

void Store::attach_volatile() {
    if (m_volatile_attached) {
        return;
    }
    const std::string file = m_options.volatile_path ? m_options.volatile_path() : "";
    if (!file.empty()) {
        const std::string dir = file.substr(0, file.find_last_of('/'));
        ensure_directory(dir);
        // The runtime directory may be shared (/dev/shm): use it only when it is ours and
        // private, so that nobody else can read the values or plant a file there.
        require_private(dir);
        ensure_store_file(file);
        require_private(file);
    }
    auto& attach = prepared("ATTACH DATABASE ? AS volatile");
    attach.bind(1, file.empty() ? std::string_view(":memory:") : std::string_view(file));
    attach.run();
    m_volatile_attached = true;
    if (!file.empty()) {
        m_db->exec("PRAGMA volatile.journal_mode = WAL");
    }
    // After a reboot the runtime file is gone: recreate the tables its caches need, and mark
    // those caches unbuilt so that a builder fills them again.
    std::vector<std::int64_t> missing;
    auto& query = prepared("SELECT id FROM caches WHERE volatile AND 'cache_' || id NOT IN "
                           "(SELECT name FROM volatile.sqlite_master WHERE type = 'table')");
    while (query.step()) {
        missing.push_back(query.column_int(0));
    }
    query.reset();
    for (const auto id : missing) {
        m_db->exec(schema::create_entries_table(id, true));
        auto& unbuilt = prepared("UPDATE caches SET built = 0 WHERE id = ?");
        unbuilt.bind(1, id);
        unbuilt.run();
    }
}

void Store::before_access(std::string_view cache, bool build_first) {
    require_name(cache);
    const auto row = find_cache(cache);
    if (!row) {
        return;
    }
    if (row->is_volatile) {
        attach_volatile();
    }
    if (build_first && row->needs_build && m_build_hook) {
        m_build_hook(std::string(cache));
    }
}

void Store::before_cascade() {
    if (m_volatile_attached) {
        return;
    }
    auto& any = prepared("SELECT EXISTS(SELECT 1 FROM caches WHERE volatile)");
    any.step();
    const bool found = any.column_int(0) != 0;
    any.reset();
    if (found) {
        attach_volatile();
    }
}

void Store::count_edits(std::string_view cache, const CacheRow& row, std::int64_t count) {
    if (!row.counts_edits || count == 0) {
        return;
    }
    m_counted_edits.emplace(cache);
    auto& add = prepared("INSERT INTO edits(cache_id, bucket, count) VALUES(?, ?, ?) "
                         "ON CONFLICT DO UPDATE SET count = count + excluded.count");
    add.bind(1, static_cast<std::int64_t>(row.id));
    add.bind(2, static_cast<std::int64_t>(now()));
    add.bind(3, count);
    add.run();
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
    CacheRow row;
    row.id = m_db->last_insert_rowid();
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
    prepared("DELETE FROM " + table(row)).run();
    auto& mark =
        prepared("UPDATE caches SET invalidated = ?, next_expiry = NULL, built = 0 WHERE id = ?");
    mark.bind(1, when);
    mark.bind(2, static_cast<std::int64_t>(row.id));
    mark.run();
    auto& edits = prepared("DELETE FROM edits WHERE cache_id = ?");
    edits.bind(1, static_cast<std::int64_t>(row.id));
    edits.run();
}

void Store::purge_expired_if_due(CacheRow& row) {
    const double current = now();
    if (!row.next_expiry || *row.next_expiry > current) {
        return;
    }
    const std::string entries = table(row);
    auto& purge = prepared("DELETE FROM " + entries + " WHERE expires <= ?");
    purge.bind(1, current);
    purge.run();
    auto& next = prepared("UPDATE caches SET next_expiry = (SELECT min(expires) FROM " + entries +
                          ") WHERE id = ? RETURNING next_expiry");
    next.bind(1, static_cast<std::int64_t>(row.id));
    next.step();
    row.next_expiry = next.is_null(0) ? std::nullopt : std::optional<double>(next.column_double(0));
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
    before_access(cache, true);
    Transaction tx(*m_db, Transaction::Kind::read);
    const CacheRow row = require_cache(cache);
    auto& query = prepared("SELECT value, expires FROM " + table(row) + " WHERE key = ? AND " +
                           std::string(k_live));
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
    before_access(cache, true);
    Transaction tx(*m_db, Transaction::Kind::read);
    const CacheRow row = require_cache(cache);
    auto& query = prepared("SELECT key FROM " + table(row) + " WHERE " + std::string(k_live) +
                           " ORDER BY key");
    query.bind(1, now());
    std::vector<std::string> keys;
    while (query.step()) {
        keys.emplace_back(query.column_text(0));
    }
    query.reset();
    return keys;
}

std::vector<CacheSummary> Store::list() {
    before_cascade();
    Transaction tx(*m_db, Transaction::Kind::read);
    const Graph graph = load_graph();
    std::vector<CacheSummary> out;
    auto& rows = prepared("SELECT c.name, c.volatile, c.invalidated, coalesce(s.hits, 0), "
                          "coalesce(s.misses, 0) FROM caches c LEFT JOIN stats s "
                          "ON s.cache = c.name ORDER BY c.name");
    while (rows.step()) {
        CacheSummary summary;
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
    const double current = now();
    for (auto& summary : out) {
        auto& count =
            prepared("SELECT count(*), coalesce(sum(length(value)), 0) FROM " +
                     table(require_cache(summary.name)) + " WHERE " + std::string(k_live));
        count.bind(1, current);
        count.step();
        summary.entries = count.column_int(0);
        summary.bytes = count.column_int(1);
        count.reset();
        summary.parents = graph.parents(summary.name);
        summary.children = graph.children(summary.name);
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
                           const std::function<void(std::string_view)>& sink,
                           const Progress& progress) {
    before_access(cache, true);
    write_entries(cache, sink, progress);
}

void Store::write_entries(std::string_view cache, const std::function<void(std::string_view)>& sink,
                          const Progress& progress) {
    Transaction tx(*m_db, Transaction::Kind::read);
    const CacheRow row = require_cache(cache);
    std::size_t total = 0;
    if (progress) {
        auto& count =
            prepared("SELECT count(*) FROM " + table(row) + " WHERE " + std::string(k_live));
        count.bind(1, now());
        count.step();
        total = static_cast<std::size_t>(count.column_int(0));
        count.reset();
    }
    std::size_t done = 0;
    auto& query = prepared("SELECT key, expires, value FROM " + table(row) + " WHERE " +
                           std::string(k_live) + " ORDER BY key");
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
        if (progress && ++done % k_progress_every == 0) {
            progress(done, total);
        }
    }
    query.reset();
    if (!buffer.empty()) {
        sink(buffer);
    }
    if (progress) {
        progress(total, total);
    }
}

// --- writes ----------------------------------------------------------------------------------

void Store::set(std::string_view cache, std::string_view key, std::string_view value,
                std::optional<Duration> ttl) {
    validate_key(key);
    before_access(cache, true);
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = ensure_cache(cache);
    purge_expired_if_due(row);
    if (!ttl && row.default_ttl_ms) {
        ttl = Duration(*row.default_ttl_ms);
    }
    std::optional<double> expires;
    if (ttl) {
        expires = now() + static_cast<double>(ttl->count()) / 1000.0;
        note_expiry(row, *expires);
    }
    auto& insert =
        prepared("INSERT OR REPLACE INTO " + table(row) + "(key, expires, value) VALUES(?, ?, ?)");
    insert.bind(1, key);
    insert.bind(2, expires);
    insert.bind_blob(3, value);
    insert.run();
    count_edits(cache, row, 1);
    tx.commit();
}

void Store::apply(std::string_view cache, const std::vector<Write>& writes) {
    for (const auto& write : writes) {
        validate_key(write.key);
    }
    before_access(cache, true);
    allow_large_transaction();
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = ensure_cache(cache);
    purge_expired_if_due(row);
    auto& insert =
        prepared("INSERT OR REPLACE INTO " + table(row) + "(key, expires, value) VALUES(?, ?, ?)");
    auto& remove = prepared("DELETE FROM " + table(row) + " WHERE key = ?");
    for (const auto& write : writes) {
        if (!write.value) {
            remove.bind(1, write.key);
            remove.run();
            continue;
        }
        insert.bind(1, write.key);
        insert.bind(2, write.expires);
        insert.bind_blob(3, *write.value);
        insert.run();
        if (write.expires) {
            note_expiry(row, *write.expires);
        }
    }
    count_edits(cache, row, static_cast<std::int64_t>(writes.size()));
    tx.commit();
}

std::size_t Store::erase(std::string_view cache, const std::vector<std::string>& keys) {
    for (const auto& key : keys) {
        validate_key(key);
    }
    before_access(cache, true);
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = require_cache(cache);
    purge_expired_if_due(row);
    auto& remove = prepared("DELETE FROM " + table(row) + " WHERE key = ?");
    std::size_t removed = 0;
    for (const auto& key : keys) {
        remove.bind(1, key);
        remove.run();
        removed += static_cast<std::size_t>(m_db->changes());
    }
    count_edits(cache, row, static_cast<std::int64_t>(removed));
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

void Store::allow_large_transaction() {
    // A cascade over many caches changes many pages; with SQLite's default 2 MB page cache they
    // spill to the WAL before the commit. Pages are allocated only as needed.
    m_db->exec("PRAGMA cache_size = -65536");
}

std::vector<std::string> Store::with_dependents(std::string_view cache) {
    std::vector<std::string> members{std::string(cache)};
    const auto dependents = load_graph().descendants(members.front());
    members.insert(members.end(), dependents.begin(), dependents.end());
    return members;
}

// Volatile caches live in another file, so one transaction cannot span a cascade that reaches
// them: they are cleared first, so that a crash between the two commits leaves too much cleared,
// never a dependent holding a value from before its parent's invalidation.
void Store::clear_volatile_first(std::string_view cache, const std::optional<std::string>& key,
                                 bool include_root) {
    if (!m_volatile_attached) {
        return;
    }
    Transaction tx(*m_db, Transaction::Kind::write);
    const auto members = with_dependents(cache);
    for (std::size_t i = include_root ? 0 : 1; i < members.size(); ++i) {
        const CacheRow row = require_cache(members[i]);
        if (!row.is_volatile) {
            continue;
        }
        if (i == 0 && key) {
            auto& remove = prepared("DELETE FROM " + table(row) + " WHERE key = ?");
            remove.bind(1, *key);
            remove.run();
        } else {
            prepared("DELETE FROM " + table(row)).run();
        }
    }
    tx.commit();
}

std::vector<std::string> Store::invalidate(std::string_view cache,
                                           const std::optional<std::string>& key, bool dry_run,
                                           std::string_view command) {
    if (key) {
        validate_key(*key);
    }
    require_name(cache);
    before_cascade();
    if (dry_run) {
        Transaction tx(*m_db, Transaction::Kind::read);
        require_cache(cache);
        return with_dependents(cache);
    }
    if (has_cache(cache)) {
        clear_volatile_first(cache, key, true);
    }
    allow_large_transaction();
    Transaction tx(*m_db, Transaction::Kind::write);
    const CacheRow root = require_cache(cache);
    const auto cleared = with_dependents(cache);
    const double when = now();
    if (key) {
        auto& remove = prepared("DELETE FROM " + table(root) + " WHERE key = ?");
        remove.bind(1, *key);
        remove.run();
    } else {
        clear(root, when);
    }
    for (std::size_t i = 1; i < cleared.size(); ++i) {
        clear(require_cache(cleared[i]), when);
    }
    append_log(command, cache, cleared, when);
    tx.commit();
    return cleared;
}

std::vector<std::string> Store::drop(std::string_view cache) {
    require_name(cache);
    before_cascade();
    if (has_cache(cache)) {
        clear_volatile_first(cache, std::nullopt, false);
    }
    allow_large_transaction();
    Transaction tx(*m_db, Transaction::Kind::write);
    const CacheRow root = require_cache(cache);
    const auto cleared = with_dependents(cache); // the cache itself first
    const std::vector<std::string> dependents(cleared.begin() + 1, cleared.end());
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
    auto& edits = prepared("DELETE FROM edits WHERE cache_id = ?");
    edits.bind(1, static_cast<std::int64_t>(root.id));
    edits.run();
    auto& counts = prepared("DELETE FROM stats WHERE cache = ?");
    counts.bind(1, cache);
    counts.run();
    m_db->exec("DROP TABLE " + table(root));
    append_log("drop", cache, cleared, when);
    tx.commit();
    return dependents;
}

std::size_t Store::import_entries(std::string_view cache, std::string_view data,
                                  std::string_view source_name, const Progress& progress) {
    before_access(cache, true);
    allow_large_transaction();
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = ensure_cache(cache);
    purge_expired_if_due(row);
    const std::size_t imported = insert_entries(row, data, source_name, progress);
    count_edits(cache, row, static_cast<std::int64_t>(imported));
    tx.commit();
    return imported;
}

std::size_t Store::insert_entries(CacheRow& row, std::string_view data,
                                  std::string_view source_name, const Progress& progress) {
    const std::size_t lines =
        progress ? static_cast<std::size_t>(std::count(data.begin(), data.end(), '\n')) +
                       (data.empty() || data.back() == '\n' ? 0 : 1)
                 : 0;
    const std::optional<double> default_expiry =
        row.default_ttl_ms
            ? std::optional<double>(now() + static_cast<double>(*row.default_ttl_ms) / 1000.0)
            : std::nullopt;
    auto& insert =
        prepared("INSERT OR REPLACE INTO " + table(row) + "(key, expires, value) VALUES(?, ?, ?)");
    std::optional<double> earliest;
    std::size_t imported = 0;
    json::parse_lines(data, source_name, [&](json::Entry& entry) {
        if (!entry.expires) {
            entry.expires = default_expiry;
        }
        if (entry.expires && (!earliest || *entry.expires < *earliest)) {
            earliest = entry.expires;
        }
        insert.bind(1, entry.key);
        insert.bind(2, entry.expires);
        insert.bind_blob(3, entry.value);
        insert.run();
        if (++imported % k_progress_every == 0 && progress) {
            progress(imported, lines);
        }
    });
    if (progress) {
        progress(lines, lines);
    }
    if (earliest) {
        note_expiry(row, *earliest);
    }
    return imported;
}

// --- settings and hooks' plumbing ------------------------------------------------------------

namespace {

constexpr std::string_view k_settings_columns =
    "builder, loader, saver, validator, deleter, pre_processor, post_processor, default_ttl_ms, "
    "volatile, autosync, autosync_checks";

std::optional<std::string> text_or_null(const sqlite::Statement& query, int column) {
    return query.is_null(column) ? std::nullopt
                                 : std::optional<std::string>(query.column_text(column));
}

} // namespace

CacheSettings Store::settings(std::string_view cache) {
    require_name(cache);
    auto& query =
        prepared("SELECT " + std::string(k_settings_columns) + " FROM caches WHERE name = ?");
    query.bind(1, cache);
    if (!query.step()) {
        throw NotFoundError("no such cache " + name_for_message(cache));
    }
    CacheSettings settings;
    std::optional<std::string>* hooks[] = {
        &settings.builder, &settings.loader,        &settings.saver,         &settings.validator,
        &settings.deleter, &settings.pre_processor, &settings.post_processor};
    for (int i = 0; i < 7; ++i) {
        *hooks[i] = text_or_null(query, i);
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
    query.reset();
    return settings;
}

void Store::configure(std::string_view cache, const std::function<void(CacheSettings&)>& edit) {
    require_name(cache);
    before_cascade();
    attach_volatile(); // a change of volatility needs both files
    Transaction tx(*m_db, Transaction::Kind::write);
    const CacheRow row = ensure_cache(cache);
    CacheSettings settings = this->settings(cache);
    const bool was_volatile = settings.is_volatile;
    edit(settings);
    auto& update = prepared(
        "UPDATE caches SET builder = ?, loader = ?, saver = ?, validator = ?, deleter = ?, "
        "pre_processor = ?, post_processor = ?, default_ttl_ms = ?, volatile = ?, autosync = ?, "
        "autosync_checks = ? WHERE id = ?");
    const std::optional<std::string>* hooks[] = {
        &settings.builder, &settings.loader,        &settings.saver,         &settings.validator,
        &settings.deleter, &settings.pre_processor, &settings.post_processor};
    for (int i = 0; i < 7; ++i) {
        if (*hooks[i]) {
            update.bind(i + 1, **hooks[i]);
        } else {
            update.bind_null(i + 1);
        }
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
    update.bind(12, static_cast<std::int64_t>(row.id));
    update.run();
    if (was_volatile != settings.is_volatile) {
        // Move the contents to the other file.
        CacheRow moved = row;
        moved.is_volatile = settings.is_volatile;
        m_db->exec(schema::create_entries_table(row.id, moved.is_volatile));
        m_db->exec("INSERT INTO " + table(moved) + " SELECT * FROM " + table(row));
        m_db->exec("DROP TABLE " + table(row));
    }
    tx.commit();
}

void Store::set_build_hook(std::function<void(const std::string&)> hook) {
    m_build_hook = std::move(hook);
}

std::string Store::contents(std::string_view cache) {
    before_access(cache, false); // the raw contents: no lazy build
    std::string out;
    write_entries(cache, [&](std::string_view chunk) { out.append(chunk); }, {});
    return out;
}

void Store::replace_contents(std::string_view cache, std::string_view data,
                             std::string_view source_name, bool built) {
    before_access(cache, false);
    Transaction tx(*m_db, Transaction::Kind::write);
    CacheRow row = ensure_cache(cache);
    prepared("DELETE FROM " + table(row)).run();
    row.next_expiry.reset();
    auto& reset = prepared("UPDATE caches SET next_expiry = NULL, built = ? WHERE id = ?");
    reset.bind(1, static_cast<std::int64_t>(built));
    reset.bind(2, static_cast<std::int64_t>(row.id));
    reset.run();
    insert_entries(row, data, source_name);
    auto& edits = prepared("DELETE FROM edits WHERE cache_id = ?");
    edits.bind(1, static_cast<std::int64_t>(row.id));
    edits.run();
    tx.commit();
}

bool Store::counted_edits(std::string_view cache) const {
    return m_counted_edits.count(std::string(cache)) > 0;
}

EditWindow::Buckets Store::edit_counts(std::string_view cache) {
    const CacheRow row = require_cache(cache);
    EditWindow::Buckets buckets;
    auto& query = prepared("SELECT bucket, count FROM edits WHERE cache_id = ?");
    query.bind(1, static_cast<std::int64_t>(row.id));
    while (query.step()) {
        buckets[query.column_int(0)] = query.column_int(1);
    }
    query.reset();
    return buckets;
}

void Store::forget_edit_counts_before(std::string_view cache, std::int64_t bucket) {
    const CacheRow row = require_cache(cache);
    auto& forget = prepared("DELETE FROM edits WHERE cache_id = ? AND bucket < ?");
    forget.bind(1, static_cast<std::int64_t>(row.id));
    forget.bind(2, bucket);
    forget.run();
}

void Store::clear_edit_counts(std::string_view cache) {
    const CacheRow row = require_cache(cache);
    auto& clear_edits = prepared("DELETE FROM edits WHERE cache_id = ?");
    clear_edits.bind(1, static_cast<std::int64_t>(row.id));
    clear_edits.run();
}

void Store::append_log(std::string_view command, std::string_view cache,
                       const std::vector<std::string>& cleared, double when) {
    std::string names = "[";
    for (const auto& name : cleared) {
        names += names.size() > 1 ? ", " : "";
        json::append_string(names, name);
    }
    names += ']';
    auto& insert = prepared("INSERT INTO log(at, command, cache, cleared) VALUES(?, ?, ?, ?)");
    insert.bind(1, when);
    insert.bind(2, command);
    insert.bind(3, cache);
    insert.bind(4, names);
    insert.run();
    // Bounded: keep the newest k_log_limit entries.
    auto& trim = prepared("DELETE FROM log WHERE id <= last_insert_rowid() - ?");
    trim.bind(1, static_cast<std::int64_t>(schema::k_log_limit));
    trim.run();
}

std::vector<Edge> Store::edges() {
    std::vector<Edge> out;
    auto& query = prepared("SELECT parent, child FROM depends ORDER BY parent, child");
    while (query.step()) {
        out.push_back({std::string(query.column_text(0)), std::string(query.column_text(1))});
    }
    query.reset();
    return out;
}

std::vector<LogEntry> Store::log(const std::optional<std::string>& cache, std::size_t limit) {
    auto& query = prepared(
        "SELECT at, command, cache, cleared FROM log WHERE ?1 IS NULL OR cache = ?1 OR "
        "EXISTS(SELECT 1 FROM json_each(log.cleared) WHERE value = ?1) ORDER BY id DESC LIMIT ?2");
    if (cache) {
        query.bind(1, *cache);
    } else {
        query.bind_null(1);
    }
    query.bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, 1u << 30)));
    std::vector<LogEntry> out;
    while (query.step()) {
        LogEntry entry;
        entry.at = query.column_double(0);
        entry.command = query.column_text(1);
        entry.cache = query.column_text(2);
        out.push_back(std::move(entry));
        auto& names = prepared("SELECT value FROM json_each(?)");
        names.bind(1, query.column_text(3));
        while (names.step()) {
            out.back().cleared.emplace_back(names.column_text(0));
        }
        names.reset();
    }
    query.reset();
    return out;
}

void Store::add_lookup_counts(const std::map<std::string, LookupCounts>& counts) {
    if (counts.empty()) {
        return;
    }
    Transaction tx(*m_db, Transaction::Kind::write);
    auto& add = prepared("INSERT INTO stats(cache, hits, misses) VALUES(?, ?, ?) ON CONFLICT "
                         "DO UPDATE SET hits = hits + excluded.hits, "
                         "misses = misses + excluded.misses");
    for (const auto& [cache, count] : counts) {
        add.bind(1, cache);
        add.bind(2, count.hits);
        add.bind(3, count.misses);
        add.run();
    }
    tx.commit();
}

CheckReport Store::check() {
    before_cascade();
    CheckReport report;
    auto& version = prepared("PRAGMA user_version");
    version.step();
    report.schema_version = static_cast<int>(version.column_int(0));
    version.reset();
    // Damage bad enough to stop a check midway is itself a finding: record it and go on.
    try {
        auto& integrity = prepared("PRAGMA integrity_check");
        while (integrity.step()) {
            report.integrity.emplace_back(integrity.column_text(0));
        }
        integrity.reset();
    } catch (const StoreError& error) {
        report.integrity.emplace_back(error.what());
    }
    try {
        check_tables(report);
    } catch (const StoreError& error) {
        report.problems.emplace_back(error.what());
    }
    return report;
}

void Store::check_tables(CheckReport& report) {
    Transaction tx(*m_db, Transaction::Kind::read);
    auto& orphans = prepared(
        "SELECT parent, child FROM depends WHERE parent NOT IN (SELECT name FROM caches) OR "
        "child NOT IN (SELECT name FROM caches)");
    while (orphans.step()) {
        report.problems.push_back("orphan edge '" + std::string(orphans.column_text(0)) + "' -> '" +
                                  std::string(orphans.column_text(1)) + "'");
    }
    orphans.reset();
    auto& missing =
        prepared("SELECT name, id FROM caches WHERE NOT volatile AND 'cache_' || id NOT IN "
                 "(SELECT name FROM sqlite_master WHERE type = 'table')");
    while (missing.step()) {
        report.problems.push_back("cache '" + std::string(missing.column_text(0)) +
                                  "' has no entries table (cache_" +
                                  std::to_string(missing.column_int(1)) + ")");
    }
    missing.reset();
    auto& stray = prepared(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'cache_[0-9]*' AND "
        "substr(name, 7) NOT IN (SELECT CAST(id AS TEXT) FROM caches)");
    while (stray.step()) {
        report.problems.push_back("table " + std::string(stray.column_text(0)) +
                                  " belongs to no cache");
    }
    stray.reset();
}

bool Store::owned_by_current_user() const {
    struct stat info {};
    if (path() == ":memory:") {
        return true;
    }
    return stat(path().c_str(), &info) == 0 && info.st_uid == geteuid();
}

} // namespace cacheman
