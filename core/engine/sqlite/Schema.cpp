#include "engine/sqlite/Schema.hpp"

#include "base/Error.hpp"
#include "engine/sqlite/Database.hpp"
#include "engine/sqlite/Statement.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace cacheman::schema {

namespace {

constexpr std::string_view k_schema_v1 = R"sql(
CREATE TABLE caches(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    invalidated REAL,
    next_expiry REAL
);
CREATE TABLE depends(
    parent TEXT NOT NULL,
    child TEXT NOT NULL,
    PRIMARY KEY(parent, child)
) WITHOUT ROWID;
CREATE INDEX depends_by_child ON depends(child, parent);
)sql";

// Migration i turns schema version i+1 into version i+2. Append only; never edit a shipped one.
constexpr std::array<std::string_view, k_latest_version - 1> k_migrations{
    // 1 -> 2: per-cache settings (hooks, default ttl, volatile, auto-sync), edit counts, the
    // invalidation log and hit/miss statistics.
    R"sql(
ALTER TABLE caches ADD COLUMN builder TEXT;
ALTER TABLE caches ADD COLUMN loader TEXT;
ALTER TABLE caches ADD COLUMN saver TEXT;
ALTER TABLE caches ADD COLUMN validator TEXT;
ALTER TABLE caches ADD COLUMN deleter TEXT;
ALTER TABLE caches ADD COLUMN pre_processor TEXT;
ALTER TABLE caches ADD COLUMN post_processor TEXT;
ALTER TABLE caches ADD COLUMN default_ttl_ms INTEGER;
ALTER TABLE caches ADD COLUMN volatile INTEGER NOT NULL DEFAULT 0;
ALTER TABLE caches ADD COLUMN autosync INTEGER;
ALTER TABLE caches ADD COLUMN autosync_checks TEXT;
ALTER TABLE caches ADD COLUMN built INTEGER NOT NULL DEFAULT 0;
CREATE TABLE edits(
    cache_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY(cache_id, bucket)
) WITHOUT ROWID;
CREATE TABLE log(
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    command TEXT NOT NULL,
    cache TEXT NOT NULL,
    cleared TEXT NOT NULL
);
CREATE TABLE stats(
    cache TEXT PRIMARY KEY,
    hits INTEGER NOT NULL DEFAULT 0,
    misses INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql",
    // 2 -> 3: the generation of each cache's contents, and whether its saved copy is current.
    R"sql(
ALTER TABLE caches ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE caches ADD COLUMN saved_current INTEGER NOT NULL DEFAULT 1;
)sql",
    // 3 -> 4: size limits and the use clock (the entries tables get their `used` column in
    // upgrade_entries_tables).
    R"sql(
ALTER TABLE caches ADD COLUMN max_entries INTEGER;
ALTER TABLE caches ADD COLUMN max_bytes INTEGER;
CREATE TABLE use_clock(tick INTEGER NOT NULL);
INSERT INTO use_clock VALUES(0);
)sql",
    // 4 -> 5: entries tables become rowid tables (see create_entries_table); they are rebuilt
    // in upgrade_entries_tables.
    "",
    // 5 -> 6: content-addressed contents (the files of `run --output`), their chunks, and the
    // entries' references to them.
    R"sql(
CREATE TABLE contents(
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    pinned REAL
);
CREATE TABLE content_chunks(
    content_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY(content_id, seq)
);
CREATE TABLE content_refs(
    cache_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    content_id INTEGER NOT NULL,
    PRIMARY KEY(cache_id, key, content_id)
) WITHOUT ROWID;
CREATE INDEX content_refs_by_content ON content_refs(content_id);
)sql",
    // 6 -> 7: entries tables gain `value_content`, the address of a large value kept as a
    // content; added in upgrade_entries_tables.
    "",
};

// The entries tables of persistent caches made before version 7 get the current layout (see
// upgrade_entries_table). Those of volatile caches are in the volatile file, which gets it when
// it is attached.
void upgrade_entries_tables(sqlite::Database& db) {
    std::vector<std::int64_t> ids;
    sqlite::Statement query(db, "SELECT id FROM caches WHERE NOT volatile");
    while (query.step()) {
        ids.push_back(query.column_int(0));
    }
    for (const auto id : ids) {
        upgrade_entries_table(db, id, false);
    }
}

} // namespace

void create(sqlite::Database& db) {
    db.exec(k_schema_v1);
    migrate(db, 1);
}

void migrate(sqlite::Database& db, int version) {
    if (version < 1 || version > k_latest_version) {
        throw StoreError("cannot migrate store from schema version " + std::to_string(version) +
                         " (" + db.path() + ")");
    }
    for (int v = version; v < k_latest_version; ++v) {
        db.exec(k_migrations.at(static_cast<std::size_t>(v - 1)));
    }
    if (version < 7) {
        upgrade_entries_tables(db);
    }
    db.exec("PRAGMA application_id = " + std::to_string(k_application_id) +
            "; PRAGMA user_version = " + std::to_string(k_latest_version));
}

std::string entries_table(std::int64_t id, bool is_volatile) {
    return (is_volatile ? "\"volatile\".\"cache_" : "\"cache_") + std::to_string(id) + "\"";
}

namespace {
constexpr std::string_view k_entries_columns =
    "(key TEXT PRIMARY KEY NOT NULL, expires REAL, used INTEGER, value BLOB NOT NULL, "
    "value_content TEXT)";
} // namespace

std::string create_entries_table(std::int64_t id, bool is_volatile) {
    // A rowid table with the key in an index of its own: a lookup walks that index, never the
    // rows of other keys, so a large value does not slow the lookups of its neighbours (in a
    // WITHOUT ROWID table, key comparisons read whole rows), and values of a few KB stay in
    // their row instead of taking an overflow page each.
    return "CREATE TABLE IF NOT EXISTS " + entries_table(id, is_volatile) +
           std::string(k_entries_columns);
}

bool upgrade_entries_table(sqlite::Database& db, std::int64_t id, bool is_volatile) {
    const std::string name = "cache_" + std::to_string(id);
    const std::string schema_name = is_volatile ? "volatile" : "main";
    sqlite::Statement layout(
        db, "SELECT sql LIKE '%WITHOUT ROWID%', (SELECT count(*) FROM pragma_table_info(?1, ?2) "
            "WHERE name = 'used'), (SELECT count(*) FROM pragma_table_info(?1, ?2) WHERE name = "
            "'value_content') FROM \"" +
                schema_name + "\".sqlite_master WHERE type = 'table' AND name = ?1");
    layout.bind(1, name);
    layout.bind(2, schema_name);
    if (!layout.step()) {
        return false; // no table (yet): it is made in the current layout
    }
    const bool without_rowid = layout.column_int(0) != 0;
    const bool has_used = layout.column_int(1) != 0;
    const bool has_value_content = layout.column_int(2) != 0;
    layout.reset();
    const std::string table = entries_table(id, is_volatile);
    if (!without_rowid && has_used) {
        if (has_value_content) {
            return false;
        }
        db.exec("ALTER TABLE " + table + " ADD COLUMN value_content TEXT"); // no rewrite
        return true;
    }
    const std::string fresh = "\"" + schema_name + "\".\"" + name + "_upgraded\"";
    db.exec("CREATE TABLE " + fresh + std::string(k_entries_columns) + "; INSERT INTO " + fresh +
            "(key, expires, used, value) SELECT key, expires, " + (has_used ? "used" : "NULL") +
            ", value FROM " + table + "; DROP TABLE " + table + "; ALTER TABLE " + fresh +
            " RENAME TO \"" + name + "\"");
    return true;
}

} // namespace cacheman::schema
