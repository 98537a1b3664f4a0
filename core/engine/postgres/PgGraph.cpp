// The graph, settings, catalog, history and check of the PostgreSQL engine (PgEngine.hpp).
// Edges are stored by cache id; the graph logic itself (cycle check, cascade order) is the
// engine-free graph/Graph.hpp, fed with the names of the edges it needs, so both engines give
// the same answers and the same cycle paths.
#include "engine/postgres/PgEngine.hpp"

#include "base/Error.hpp"
#include "base/Names.hpp"
#include "engine/postgres/PgInCache.hpp"
#include "engine/postgres/PgSchema.hpp"
#include "hooks/AutoSync.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <utility>

namespace cacheman::postgres {

using engine::Access;
using engine::Result;
using Kind = PgTransaction::Kind;

namespace {

// The log keeps the newest this many invalidations of a namespace, as SQLite's does.
constexpr std::int64_t k_log_limit = 1000;

// Runs `body` in one transaction of `kind` and commits it; a throw rolls it back.
template <class Body> auto in_transaction(PgConnection& connection, Kind kind, Body&& body) {
    PgTransaction tx(connection, kind);
    auto value = body();
    tx.commit();
    return value;
}

std::vector<Edge> read_edges(const Rows& rows) {
    std::vector<Edge> edges;
    edges.reserve(static_cast<std::size_t>(rows.size()));
    for (int i = 0; i < rows.size(); ++i) {
        edges.push_back({rows.text(i, 0), rows.text(i, 1)});
    }
    return edges;
}

// Every edge of the namespace, by (parent, child) in byte order.
std::vector<Edge> namespace_edges(PgConnection& connection, std::optional<std::int64_t> ns) {
    if (!ns) {
        return {};
    }
    return read_edges(connection.exec(
        "SELECT p.name, c.name FROM cacheman.depends d JOIN cacheman.caches p ON p.id = d.parent "
        "JOIN cacheman.caches c ON c.id = d.child WHERE p.ns = $1::bigint ORDER BY 1, 2",
        {*ns}));
}

// `root` and every cache that depends on it, transitively: the root first, then each dependent
// after its parents (Graph::descendants' order, the one SQLite gives). Only the edges below the
// root are read (a recursive query; UNION visits each cache once, diamonds included), which
// is all that order depends on.
// `root` (named `name`) and every cache that depends on it, transitively: the root first,
// then each dependent after its parents (the order of the cascade), with their ids.
std::vector<CacheId> with_dependents(PgConnection& connection, const CacheRow& root,
                                     std::string_view name) {
    const Rows below = connection.exec(
        "WITH RECURSIVE down(id) AS (SELECT $1::bigint UNION SELECT d.child FROM cacheman.depends "
        "d JOIN down ON d.parent = down.id) "
        "SELECT p.name, c.name, c.id FROM down JOIN cacheman.depends d ON d.parent = down.id "
        "JOIN cacheman.caches p ON p.id = d.parent JOIN cacheman.caches c ON c.id = d.child",
        {root.id});
    std::map<std::string, std::int64_t, std::less<>> ids;
    for (int i = 0; i < below.size(); ++i) {
        ids.emplace(below.text(i, 1), below.integer(i, 2));
    }
    std::vector<CacheId> members{{std::string(name), root.id}};
    for (auto& dependent : Graph(read_edges(below)).descendants(members.front().name)) {
        const std::int64_t id = ids.at(dependent);
        members.push_back({std::move(dependent), id});
    }
    return members;
}

std::vector<std::string> names_of(const std::vector<CacheId>& caches) {
    std::vector<std::string> names;
    names.reserve(caches.size());
    for (const auto& cache : caches) {
        names.push_back(cache.name);
    }
    return names;
}

// Stamps the caches as invalidated at `when`: a new generation, and a saved copy that is no
// longer current.
void stamp_invalidated(PgConnection& connection, const std::vector<std::int64_t>& ids,
                       double when) {
    connection.exec("UPDATE cacheman.caches SET invalidated = $2::float8, generation = generation "
                    "+ 1, saved_current = false WHERE id = ANY($1::bigint[])",
                    {Param::ids(ids), when});
}

// Logs the invalidation and keeps the newest k_log_limit of the namespace.
void append_log(PgConnection& connection, std::int64_t ns, std::string_view command,
                std::string_view cache, const std::vector<std::string>& cleared, double when) {
    std::string lines; // cache names hold no newline (validate_cache_name)
    for (const auto& name : cleared) {
        if (!lines.empty()) {
            lines += '\n';
        }
        lines += name;
    }
    // Announced on channel `cacheman` when the transaction commits (NOTIFY is transactional):
    // the log id only, which names the namespace and what was cleared in cacheman.log (a
    // payload has to stay under 8,000 bytes; a cascade's list need not).
    connection.pipeline(
        {{"WITH logged AS (INSERT INTO cacheman.log(ns, at, command, cache, cleared) VALUES "
          "($1::bigint, $2::float8, $3, $4, $5) RETURNING id) "
          "SELECT pg_notify('cacheman', id::text) FROM logged",
          {ns, when, command, cache, lines}},
         {"DELETE FROM cacheman.log WHERE ns = $1::bigint AND id <= (SELECT id FROM cacheman.log "
          "WHERE ns = $1::bigint ORDER BY id DESC OFFSET $2::bigint LIMIT 1)",
          {ns, k_log_limit}}});
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines.emplace_back(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    }
    return lines;
}

// --- settings ------------------------------------------------------------------------------------

constexpr const char* k_settings_columns =
    "builder, loader, saver, validator, deleter, pre_processor, post_processor, default_ttl_ms, "
    "autosync, autosync_checks, saved_current, max_entries, max_bytes";

// The seven hook commands in the order of k_settings_columns.
template <class Settings> auto hook_fields(Settings& settings) {
    return std::array{&settings.builder,       &settings.loader,  &settings.saver,
                      &settings.validator,     &settings.deleter, &settings.pre_processor,
                      &settings.post_processor};
}

bool same_hooks(const engine::CacheSettings& a, const engine::CacheSettings& b) {
    const auto left = hook_fields(a);
    const auto right = hook_fields(b);
    return std::equal(left.begin(), left.end(), right.begin(),
                      [](const auto* x, const auto* y) { return *x == *y; });
}

engine::CacheSettings read_settings(PgConnection& connection, std::int64_t cache_id) {
    Rows row = connection.exec(std::string("SELECT ") + k_settings_columns +
                                   " FROM cacheman.caches WHERE id = $1::bigint",
                               {cache_id});
    engine::CacheSettings settings;
    int column = 0;
    for (auto* hook : hook_fields(settings)) {
        *hook = row.optional_text(0, column++);
    }
    if (const auto ttl = row.optional_integer(0, 7)) {
        settings.default_ttl = Duration(*ttl);
    }
    if (!row.null(0, 8)) {
        settings.autosync = row.boolean(0, 8);
    }
    if (const auto checks = row.optional_text(0, 9)) {
        settings.autosync_checks = parse_time_checks(*checks);
    }
    settings.saved_copy_current = row.boolean(0, 10);
    settings.max_entries = row.optional_integer(0, 11);
    settings.max_bytes = row.optional_integer(0, 12);
    return settings;
}

// Writes the settings; the role that writes hooks becomes their owner (settings_trusted), and
// only then: a user who changes a ttl does not come to trust hooks another user wrote.
void write_settings(PgConnection& connection, std::int64_t cache_id,
                    const engine::CacheSettings& before, const engine::CacheSettings& settings) {
    std::vector<Param> params{cache_id};
    for (const auto* hook : hook_fields(settings)) {
        params.emplace_back(*hook);
    }
    params.emplace_back(settings.default_ttl
                            ? std::optional<std::int64_t>(settings.default_ttl->count())
                            : std::nullopt);
    params.emplace_back(settings.autosync ? Param(*settings.autosync ? "true" : "false") : Param());
    params.emplace_back(settings.autosync_checks ? std::optional<std::string>(format_time_checks(
                                                       *settings.autosync_checks))
                                                 : std::nullopt);
    params.emplace_back(settings.max_entries);
    params.emplace_back(settings.max_bytes);
    params.emplace_back(same_hooks(before, settings) ? "false" : "true");
    connection.exec(
        "UPDATE cacheman.caches SET builder = $2, loader = $3, saver = $4, validator = $5, "
        "deleter = $6, pre_processor = $7, post_processor = $8, default_ttl_ms = $9::bigint, "
        "autosync = $10::boolean, autosync_checks = $11, max_entries = $12::bigint, "
        "max_bytes = $13::bigint, settings_role = CASE WHEN $14::boolean THEN current_user "
        "ELSE settings_role END WHERE id = $1::bigint",
        params);
}

[[noreturn]] void refuse_volatile(std::string_view cache) {
    throw UsageError("volatile caches are not available on a PostgreSQL store (cache " +
                     quoted_for_message(cache) + ")");
}

std::int64_t live_entries(PgConnection& connection, std::int64_t cache_id, double now) {
    return connection
        .exec("SELECT count(*)::bigint FROM cacheman.entries WHERE cache_id = $1::bigint AND "
              "(expires IS NULL OR expires > $2::float8)",
              {cache_id, now})
        .integer(0, 0);
}

// --- check ---------------------------------------------------------------------------------------

// Adds one problem per row of `sql` (run with the namespace id), as `describe` words it.
template <class Describe>
void add_problems(PgConnection& connection, std::int64_t ns, const char* sql,
                  engine::CheckReport& report, Describe&& describe) {
    Rows rows = connection.exec(sql, {ns});
    for (int i = 0; i < rows.size(); ++i) {
        report.problems.push_back(describe(rows, i));
    }
}

// What the foreign keys cannot guarantee: that what a namespace's rows link stays inside the
// namespace, that references to contents belong to entries, that contents hold their size,
// that a large value's content is referred to.
void check_namespace(PgConnection& connection, std::int64_t ns, engine::CheckReport& report) {
    add_problems(connection, ns,
                 "SELECT p.name, c.name FROM cacheman.depends d JOIN cacheman.caches p ON "
                 "p.id = d.parent JOIN cacheman.caches c ON c.id = d.child WHERE "
                 "(p.ns = $1::bigint) <> (c.ns = $1::bigint)",
                 report, [](const Rows& rows, int i) {
                     return "edge " + quoted_for_message(rows.text(i, 0)) + " -> " +
                            quoted_for_message(rows.text(i, 1)) + " crosses namespaces";
                 });
    add_problems(connection, ns,
                 "SELECT count(*)::bigint FROM cacheman.content_refs r JOIN cacheman.caches c ON "
                 "c.id = r.cache_id JOIN cacheman.contents t ON t.id = r.content_id WHERE "
                 "c.ns = $1::bigint AND t.ns <> c.ns HAVING count(*) > 0",
                 report, [](const Rows& rows, int i) {
                     return std::to_string(rows.integer(i, 0)) +
                            " references of entries to contents of another namespace";
                 });
    add_problems(connection, ns,
                 "SELECT count(*)::bigint FROM cacheman.content_refs r JOIN cacheman.caches c ON "
                 "c.id = r.cache_id WHERE c.ns = $1::bigint AND NOT EXISTS (SELECT 1 FROM "
                 "cacheman.entries e WHERE e.cache_id = r.cache_id AND e.key = r.key) "
                 "HAVING count(*) > 0",
                 report, [](const Rows& rows, int i) {
                     return std::to_string(rows.integer(i, 0)) +
                            " references to contents of entries that are gone";
                 });
    add_problems(connection, ns,
                 "SELECT t.digest FROM cacheman.contents t WHERE t.ns = $1::bigint AND t.size <> "
                 "(SELECT coalesce(sum(octet_length(k.data)), 0)::bigint FROM "
                 "cacheman.content_chunks k WHERE k.content_id = t.id)",
                 report, [](const Rows& rows, int i) {
                     return "content " + rows.text(i, 0) + " does not hold its size in bytes";
                 });
    add_problems(connection, ns,
                 "SELECT c.name, e.key FROM cacheman.entries e JOIN cacheman.caches c ON "
                 "c.id = e.cache_id WHERE c.ns = $1::bigint AND e.value_content IS NOT NULL AND "
                 "NOT EXISTS (SELECT 1 FROM cacheman.content_refs r JOIN cacheman.contents t ON "
                 "t.id = r.content_id WHERE r.cache_id = e.cache_id AND r.key = e.key AND "
                 "t.digest = e.value_content)",
                 report, [](const Rows& rows, int i) {
                     return "entry " + quoted_for_message(rows.text(i, 1)) + " of cache " +
                            quoted_for_message(rows.text(i, 0)) + " lost its large value";
                 });
}

} // namespace

// --- the graph -----------------------------------------------------------------------------------

void PgEngine::depend(std::string_view parent, std::string_view child) {
    validate_cache_name(parent);
    validate_cache_name(child);
    in_transaction(*m_connection, Kind::write, [&] {
        // Under the namespace's write lock no other writer adds an edge between the check and
        // the insert, so two opposite edges added at once cannot both pass.
        write_lock();
        const Graph graph(namespace_edges(*m_connection, namespace_id()));
        if (auto cycle = graph.cycle_if_added(std::string(parent), std::string(child))) {
            throw UsageError("dependency would close a cycle: " + format_path(*cycle));
        }
        const std::int64_t parent_id = ensure_cache(parent).id;
        const std::int64_t child_id = ensure_cache(child).id;
        m_connection->exec("INSERT INTO cacheman.depends(parent, child) VALUES ($1::bigint, "
                           "$2::bigint) ON CONFLICT DO NOTHING",
                           {parent_id, child_id});
        return true;
    });
}

bool PgEngine::undepend(std::string_view parent, std::string_view child) {
    validate_cache_name(parent);
    validate_cache_name(child);
    return in_transaction(*m_connection, Kind::write, [&] {
        write_lock();
        const auto ns = namespace_id();
        if (!ns) {
            return false;
        }
        Rows removed = m_connection->exec(
            "DELETE FROM cacheman.depends d USING cacheman.caches p, cacheman.caches c WHERE "
            "p.id = d.parent AND c.id = d.child AND p.ns = $1::bigint AND p.name = $2 AND "
            "c.ns = $1::bigint AND c.name = $3",
            {*ns, parent, child});
        return removed.affected() > 0;
    });
}

void PgEngine::clear_whole(const std::vector<CacheId>& caches, double when) {
    if (caches.empty()) {
        return;
    }
    std::vector<std::int64_t> ids;
    for (const auto& cache : caches) {
        ids.push_back(cache.id);
    }
    clear_entries(ids);
    // A new generation, a saved copy no longer current; emptied whole: its builder fills it
    // again, and its edits are no longer to be saved.
    const Param id_list = Param::ids(ids);
    m_connection->pipeline(
        {{"UPDATE cacheman.caches SET invalidated = $2::float8, generation = generation + 1, "
          "saved_current = false, built = false WHERE id = ANY($1::bigint[])",
          {id_list, when}},
         {"DELETE FROM cacheman.edits WHERE cache_id = ANY($1::bigint[])", {id_list}}});
}

Result<std::vector<std::string>> PgEngine::invalidate(std::string_view cache,
                                                      const std::optional<std::string>& key,
                                                      bool dry_run, std::string_view command) {
    if (key) {
        validate_key(*key);
    }
    return in_cache(cache, dry_run ? Kind::read : Kind::write, false, Access::raw, std::nullopt,
                    [&](CacheRow& root) {
                        const auto members = with_dependents(*m_connection, root, cache);
                        auto cleared = names_of(members);
                        if (dry_run) {
                            return cleared;
                        }
                        const double when = now();
                        const std::vector<CacheId> dependents(members.begin() + 1, members.end());
                        if (key) {
                            // The root keeps its other entries, but was invalidated: stamped
                            // as such.
                            remove_entry(root, *key);
                            stamp_invalidated(*m_connection, {root.id}, when);
                            clear_whole(dependents, when);
                        } else {
                            clear_whole(members, when);
                        }
                        append_log(*m_connection, *namespace_id(), command, cache, cleared, when);
                        return cleared;
                    });
}

Result<std::vector<std::string>> PgEngine::drop(std::string_view cache) {
    return in_cache(cache, Kind::write, false, Access::raw, std::nullopt, [&](CacheRow& root) {
        const auto members = with_dependents(*m_connection, root, cache); // the cache first
        const double when = now();
        clear_whole({members.begin() + 1, members.end()}, when);
        // Its entries first, to release their contents; the row takes its edges, edit counts
        // and statistics with it (ON DELETE CASCADE).
        clear_entries({root.id});
        const auto cleared = names_of(members);
        std::vector<std::string> dependents(cleared.begin() + 1, cleared.end());
        m_connection->exec("DELETE FROM cacheman.caches WHERE id = $1::bigint", {root.id});
        append_log(*m_connection, *namespace_id(), "drop", cache, cleared, when);
        return dependents;
    });
}

Result<engine::Dependencies> PgEngine::dependencies(std::string_view cache, bool transitive) {
    return in_cache(cache, Kind::read, false, Access::raw, std::nullopt, [&](CacheRow&) {
        const Graph graph(namespace_edges(*m_connection, namespace_id()));
        const std::string name(cache);
        if (!transitive) {
            return engine::Dependencies{graph.parents(name), graph.children(name)};
        }
        return engine::Dependencies{graph.ancestors(name), graph.descendants(name)};
    });
}

std::vector<Edge> PgEngine::edges() {
    return in_transaction(*m_connection, Kind::read,
                          [&] { return namespace_edges(*m_connection, namespace_id()); });
}

// --- the catalog ---------------------------------------------------------------------------------

std::vector<engine::CacheSummary> PgEngine::list() {
    return in_transaction(*m_connection, Kind::read, [&] {
        std::vector<engine::CacheSummary> out;
        const auto ns = namespace_id();
        if (!ns) {
            return out;
        }
        Rows rows = m_connection->exec(
            std::string("SELECT c.name, c.invalidated, coalesce(s.hits, 0)::bigint, "
                        "coalesce(s.misses, 0)::bigint, t.entries, t.bytes FROM cacheman.caches c "
                        "LEFT JOIN cacheman.stats s ON s.cache_id = c.id "
                        "CROSS JOIN LATERAL (SELECT count(*)::bigint AS entries, coalesce(sum(") +
                entry_bytes_sql() +
                "), 0)::bigint AS bytes FROM cacheman.entries e WHERE e.cache_id = c.id AND "
                "(e.expires IS NULL OR e.expires > $2::float8)) t "
                "WHERE c.ns = $1::bigint ORDER BY c.name",
            {*ns, now()});
        const Graph graph(namespace_edges(*m_connection, ns));
        for (int i = 0; i < rows.size(); ++i) {
            engine::CacheSummary summary;
            summary.name = rows.text(i, 0);
            summary.invalidated = rows.optional_real(i, 1);
            summary.hits = rows.integer(i, 2);
            summary.misses = rows.integer(i, 3);
            summary.entries = rows.integer(i, 4);
            summary.bytes = rows.integer(i, 5);
            summary.parents = graph.parents(summary.name);
            summary.children = graph.children(summary.name);
            out.push_back(std::move(summary));
        }
        return out;
    });
}

std::optional<engine::CacheSettings> PgEngine::settings(std::string_view cache) {
    auto found = in_cache(cache, Kind::read, false, Access::raw, std::nullopt,
                          [&](CacheRow& row) { return read_settings(*m_connection, row.id); });
    return found.ok() ? std::optional<engine::CacheSettings>(std::move(found.value)) : std::nullopt;
}

void PgEngine::configure(std::string_view cache,
                         const std::function<void(engine::CacheSettings&)>& edit) {
    in_cache(cache, Kind::write, true, Access::raw, std::nullopt, [&](CacheRow& row) {
        const engine::CacheSettings before = read_settings(*m_connection, row.id);
        engine::CacheSettings settings = before;
        edit(settings);
        if (settings.is_volatile) {
            refuse_volatile(cache); // inside the transaction: the cache it made goes with it
        }
        write_settings(*m_connection, row.id, before, settings);
        if (!before.builder && settings.builder && live_entries(*m_connection, row.id, now()) > 0) {
            // Entries stored before a builder was attached are kept: the builder applies from
            // the next rebuild or invalidation on.
            m_connection->exec("UPDATE cacheman.caches SET built = true WHERE id = $1::bigint",
                               {row.id});
        }
        if (settings.max_entries || settings.max_bytes) {
            enforce_limits(*find_cache(cache)); // new limits hold from now on
        }
        return true;
    });
}

// --- copy ----------------------------------------------------------------------------------------

bool PgEngine::receive(const engine::NamespaceImage& image, bool replace) {
    return in_transaction(*m_connection, Kind::write, [&] {
        write_lock();
        const std::int64_t ns = ensure_namespace();
        Rows held = m_connection->exec("SELECT id FROM cacheman.caches WHERE ns = $1::bigint", {ns});
        if (!held.empty() && !replace) {
            return false;
        }
        std::vector<std::int64_t> held_ids;
        for (int i = 0; i < held.size(); ++i) {
            held_ids.push_back(held.integer(i, 0));
        }
        clear_entries(held_ids); // and the contents only they kept
        m_connection->exec("DELETE FROM cacheman.caches WHERE ns = $1::bigint", {ns});
        std::map<std::string, std::int64_t, std::less<>> ids; // of the caches made here
        for (const auto& cache : image.caches) {
            validate_cache_name(cache.name);
            if (cache.settings.is_volatile) {
                refuse_volatile(cache.name);
            }
            // Entries first, with the default settings of a new cache: a default ttl must not
            // reach entries that never expire.
            const CacheRow row = ensure_cache(cache.name);
            ids[cache.name] = row.id;
            receive_entries(row, cache.name, image);
            write_settings(*m_connection, row.id, engine::CacheSettings{}, cache.settings);
            m_connection->exec("UPDATE cacheman.caches SET built = $2::boolean WHERE id = "
                               "$1::bigint",
                               {row.id, cache.built ? "true" : "false"});
        }
        const auto id_of = [&](const std::string& name) {
            const auto found = ids.find(name);
            return found != ids.end() ? found->second : ensure_cache(name).id;
        };
        std::vector<Edge> edges;
        for (const auto& edge : image.edges) {
            if (auto cycle = Graph(edges).cycle_if_added(edge.parent, edge.child)) {
                throw UsageError("dependency would close a cycle: " + format_path(*cycle));
            }
            edges.push_back(edge);
            m_connection->exec("INSERT INTO cacheman.depends(parent, child) VALUES ($1::bigint, "
                               "$2::bigint) ON CONFLICT DO NOTHING",
                               {id_of(edge.parent), id_of(edge.child)});
        }
        return true;
    });
}

// --- auto-sync bookkeeping -----------------------------------------------------------------------

engine::EditBuckets PgEngine::edit_counts(std::string_view cache) {
    auto found = in_cache(cache, Kind::read, false, Access::raw, std::nullopt, [&](CacheRow& row) {
        engine::EditBuckets buckets;
        Rows rows = m_connection->exec(
            "SELECT bucket, count FROM cacheman.edits WHERE cache_id = $1::bigint", {row.id});
        for (int i = 0; i < rows.size(); ++i) {
            buckets[rows.integer(i, 0)] = rows.integer(i, 1);
        }
        return buckets;
    });
    return std::move(found.value); // empty for a missing cache
}

void PgEngine::forget_edit_counts(std::string_view cache, std::int64_t bucket) {
    in_cache(cache, Kind::write, false, Access::raw, std::nullopt, [&](CacheRow& row) {
        m_connection->exec(
            "DELETE FROM cacheman.edits WHERE cache_id = $1::bigint AND bucket < $2::bigint",
            {row.id, bucket});
        return true;
    });
}

void PgEngine::saved(std::string_view cache) {
    in_cache(cache, Kind::write, false, Access::raw, std::nullopt, [&](CacheRow& row) {
        m_connection->exec("DELETE FROM cacheman.edits WHERE cache_id = $1::bigint", {row.id});
        m_connection->exec("UPDATE cacheman.caches SET saved_current = true WHERE id = $1::bigint",
                           {row.id});
        return true;
    });
}

// --- history -------------------------------------------------------------------------------------

std::vector<engine::LogEntry> PgEngine::log(const std::optional<std::string>& cache,
                                            std::size_t limit) {
    return in_transaction(*m_connection, Kind::read, [&] {
        std::vector<engine::LogEntry> out;
        const auto ns = namespace_id();
        if (!ns) {
            return out;
        }
        Rows rows = m_connection->exec(
            "SELECT at, command, cache, cleared FROM cacheman.log WHERE ns = $1::bigint AND "
            "($2::text IS NULL OR cache = $2::text OR "
            "$2::text = ANY(string_to_array(cleared, E'\\n'))) ORDER BY id DESC LIMIT $3::bigint",
            {*ns, cache, static_cast<std::int64_t>(std::min<std::size_t>(limit, 1U << 30))});
        for (int i = 0; i < rows.size(); ++i) {
            out.push_back(
                {rows.real(i, 0), rows.text(i, 1), rows.text(i, 2), split_lines(rows.bytes(i, 3))});
        }
        return out;
    });
}

// --- health --------------------------------------------------------------------------------------

engine::CheckReport PgEngine::check() {
    engine::CheckReport report;
    try {
        in_transaction(*m_connection, Kind::read, [&] {
            // No layout yet reads as an empty store of the current one (as a missing SQLite
            // file does): the first write makes it so.
            report.schema_version = schema::k_latest_version;
            if (schema::exists(*m_connection)) {
                report.schema_version = static_cast<int>(
                    m_connection->exec("SELECT max(version)::bigint FROM cacheman.version")
                        .optional_integer(0, 0)
                        .value_or(0));
            }
            return true;
        });
        // The server keeps its own files whole (checksums, WAL): what it answers is its check.
        report.integrity.emplace_back("ok");
    } catch (const StoreError& error) {
        report.integrity.emplace_back(error.what());
        return report;
    }
    try {
        in_transaction(*m_connection, Kind::read, [&] {
            if (const auto ns = namespace_id()) {
                check_namespace(*m_connection, *ns, report);
            }
            return true;
        });
    } catch (const StoreError& error) {
        report.problems.emplace_back(error.what());
    }
    return report;
}

} // namespace cacheman::postgres
