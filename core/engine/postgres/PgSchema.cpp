#include "engine/postgres/PgSchema.hpp"

#include "base/Error.hpp"

namespace cacheman::postgres::schema {

namespace {

constexpr const char* k_layout_v1 = R"sql(
CREATE SCHEMA IF NOT EXISTS cacheman;
CREATE TABLE cacheman.version(version integer NOT NULL);
INSERT INTO cacheman.version VALUES (1);
CREATE TABLE cacheman.namespaces(
    id bigserial PRIMARY KEY,
    name text COLLATE "C" NOT NULL UNIQUE,
    created double precision NOT NULL
);
CREATE TABLE cacheman.caches(
    id bigserial PRIMARY KEY,
    ns bigint NOT NULL REFERENCES cacheman.namespaces(id) ON DELETE CASCADE,
    name text COLLATE "C" NOT NULL,
    created double precision NOT NULL,
    invalidated double precision,
    next_expiry double precision,
    builder text,
    loader text,
    saver text,
    validator text,
    deleter text,
    pre_processor text,
    post_processor text,
    default_ttl_ms bigint,
    autosync boolean,
    autosync_checks text,
    built boolean NOT NULL DEFAULT false,
    generation bigint NOT NULL DEFAULT 0,
    saved_current boolean NOT NULL DEFAULT true,
    max_entries bigint,
    max_bytes bigint,
    settings_role text NOT NULL DEFAULT current_user,
    UNIQUE(ns, name)
);
CREATE TABLE cacheman.entries(
    cache_id bigint NOT NULL REFERENCES cacheman.caches(id) ON DELETE CASCADE,
    key text COLLATE "C" NOT NULL,
    expires double precision,
    used bigint,
    value bytea NOT NULL,
    value_content text COLLATE "C",
    PRIMARY KEY(cache_id, key)
);
-- Purging expired entries and recomputing a cache's next_expiry read this, not every entry.
CREATE INDEX entries_by_expiry ON cacheman.entries(cache_id, expires) WHERE expires IS NOT NULL;
-- The order of use of entries (entries.used): a sequence rather than a counter row, so that
-- folding lookups never waits for a writer that holds the row (nextval never blocks).
CREATE SEQUENCE cacheman.use_clock;
CREATE TABLE cacheman.depends(
    parent bigint NOT NULL REFERENCES cacheman.caches(id) ON DELETE CASCADE,
    child bigint NOT NULL REFERENCES cacheman.caches(id) ON DELETE CASCADE,
    PRIMARY KEY(parent, child)
);
CREATE INDEX depends_by_child ON cacheman.depends(child, parent);
CREATE TABLE cacheman.edits(
    cache_id bigint NOT NULL REFERENCES cacheman.caches(id) ON DELETE CASCADE,
    bucket bigint NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY(cache_id, bucket)
);
CREATE TABLE cacheman.log(
    id bigserial PRIMARY KEY,
    ns bigint NOT NULL REFERENCES cacheman.namespaces(id) ON DELETE CASCADE,
    at double precision NOT NULL,
    command text NOT NULL,
    cache text COLLATE "C" NOT NULL,
    cleared text COLLATE "C" NOT NULL
);
CREATE INDEX log_by_ns ON cacheman.log(ns, id);
CREATE TABLE cacheman.stats(
    cache_id bigint PRIMARY KEY REFERENCES cacheman.caches(id) ON DELETE CASCADE,
    hits bigint NOT NULL DEFAULT 0,
    misses bigint NOT NULL DEFAULT 0
);
CREATE TABLE cacheman.contents(
    id bigserial PRIMARY KEY,
    ns bigint NOT NULL REFERENCES cacheman.namespaces(id) ON DELETE CASCADE,
    digest text COLLATE "C" NOT NULL,
    size bigint NOT NULL,
    pinned double precision,
    UNIQUE(ns, digest)
);
CREATE TABLE cacheman.content_chunks(
    content_id bigint NOT NULL REFERENCES cacheman.contents(id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY(content_id, seq)
);
CREATE TABLE cacheman.content_refs(
    cache_id bigint NOT NULL,
    key text COLLATE "C" NOT NULL,
    content_id bigint NOT NULL REFERENCES cacheman.contents(id),
    PRIMARY KEY(cache_id, key, content_id),
    FOREIGN KEY(cache_id, key) REFERENCES cacheman.entries(cache_id, key) ON DELETE CASCADE
);
CREATE INDEX content_refs_by_content ON cacheman.content_refs(content_id);
CREATE TABLE cacheman.leases(
    ns bigint NOT NULL REFERENCES cacheman.namespaces(id) ON DELETE CASCADE,
    key text COLLATE "C" NOT NULL,
    holder text NOT NULL,
    expires double precision NOT NULL,
    finished boolean NOT NULL DEFAULT false,
    result bytea,
    PRIMARY KEY(ns, key)
);
)sql";

// Layout 2: an entry's references to contents are removed with the entry by the statement
// that removes it, no longer by a foreign key to entries, whose trigger ran once per deleted
// entry (most of the time of a cascade over many entries); they go with their cache.
constexpr const char* k_migration_v2 = R"sql(
ALTER TABLE cacheman.content_refs DROP CONSTRAINT content_refs_cache_id_key_fkey;
ALTER TABLE cacheman.content_refs ADD CONSTRAINT content_refs_cache_id_fkey
    FOREIGN KEY(cache_id) REFERENCES cacheman.caches(id) ON DELETE CASCADE;
UPDATE cacheman.version SET version = 2;
)sql";

} // namespace

bool exists(PgConnection& connection) {
    Rows found = connection.exec(
        "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = 'cacheman' AND tablename = 'version'");
    return !found.empty();
}

int checked_version(const PgConnection& connection, std::optional<std::int64_t> version) {
    const auto current = static_cast<int>(version.value_or(0));
    if (current > k_latest_version) {
        throw StoreError("store " + connection.name() + " has schema version " +
                         std::to_string(current) + ", newer than this cacheman knows (" +
                         std::to_string(k_latest_version) + "): upgrade cacheman");
    }
    return current;
}

int check_version(PgConnection& connection) {
    Rows version = connection.exec("SELECT max(version)::bigint FROM cacheman.version");
    return checked_version(connection, version.optional_integer(0, 0));
}

Probe probe(PgConnection& connection, const std::string& name_space) {
    std::optional<Rows> rows;
    try {
        rows.emplace(connection.exec_ahead(
            "SELECT (SELECT max(version)::bigint FROM cacheman.version), (SELECT id FROM "
            "cacheman.namespaces WHERE name = $1)",
            {name_space}));
    } catch (const StoreError&) {
        if (!layout_missing(connection)) {
            throw;
        }
        return Probe{};
    }
    return Probe{true, checked_version(connection, rows->optional_integer(0, 0)),
                 rows->optional_integer(0, 1)};
}

bool layout_missing(const PgConnection& connection) {
    const std::string& state = connection.last_sqlstate();
    return state == "42P01" || state == "3F000"; // undefined_table, invalid_schema_name
}

void ensure(PgConnection& connection) {
    PgTransaction transaction(connection, PgTransaction::Kind::write);
    connection.exec("SELECT pg_advisory_xact_lock($1::bigint)", {k_layout_lock});
    if (!exists(connection)) {
        connection.exec_script(k_layout_v1);
    }
    // The migrations from the version found, in order.
    if (check_version(connection) < 2) {
        connection.exec_script(k_migration_v2);
    }
    transaction.commit();
}

} // namespace cacheman::postgres::schema
