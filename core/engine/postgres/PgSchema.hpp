// The PostgreSQL engine's layout: one fixed schema, `cacheman`, shared by every namespace of a
// database (namespaces are rows: PostgreSQL truncates identifiers to 63 bytes, so a schema per
// namespace would break on long names, and a table per cache grows the catalog and the locks of
// a cascade with the number of caches). Keys and names are `COLLATE "C"`: byte order, as on
// SQLite.
//
//   version(version)                 the layout's version (k_latest_version)
//   namespaces(id, name, created)
//   use_clock                        a sequence: the order of the entries' last store or use
//   caches(id, ns, name, created, invalidated, next_expiry, <settings>, built, generation,
//          saved_current, max_entries, max_bytes, settings_role)
//                                    settings_role: the role that last wrote the hooks (hooks
//                                    run only from settings the current role wrote)
//   entries(cache_id, key, expires, used, value, value_content)
//                                    used: a tick of use_clock (eviction removes the lowest)
//                                    value_content: the digest of a large value kept as a
//                                    content (value is then empty)
//   depends(parent, child)           cache ids, foreign keys (ON DELETE CASCADE)
//   edits(cache_id, bucket, count)   auto-sync edit counts per second
//   log(id, ns, at, command, cache, cleared)   cleared: the names, one per line
//   stats(cache_id, hits, misses)
//   contents(id, ns, digest, size, pinned)     content-addressed bytes of a namespace
//   content_chunks(content_id, seq, data)      in pieces of at most 1 MiB
//   content_refs(cache_id, key, content_id)    what an entry refers to (removed by whatever
//                                    removes the entry; with the cache by foreign key)
//   leases(ns, key, holder, expires, result)   single flight of `run` across machines
//
// Created (or migrated) under a transaction-level advisory lock, so that two first commands
// never race to make it.
#pragma once

#include "engine/postgres/PgConnection.hpp"

#include <optional>
#include <string>

namespace cacheman::postgres::schema {

constexpr int k_latest_version = 2;
// The advisory lock key of the layout's creation and migrations (any fixed number).
constexpr std::int64_t k_layout_lock = 0x636163686d616e; // "cachman"

// What a command first needs to know of the server, read in one statement outside any
// transaction: whether the layout exists, its version, and the namespace's id.
struct Probe {
    bool exists = false;
    int version = 0;
    std::optional<std::int64_t> namespace_id;
};
// Throws StoreError when the layout is newer than this cacheman knows (a reader too refuses
// it). Runs ahead of any transaction (PgConnection::exec_ahead): a missing layout is an error
// of the statement, which a transaction would not survive.
Probe probe(PgConnection& connection, const std::string& name_space);
// Whether the statement that just failed on `connection` failed for want of the layout.
bool layout_missing(const PgConnection& connection);
// The layout's version `version` (max(version) of cacheman.version; NULL as 0); throws
// StoreError when it is newer than this cacheman knows.
int checked_version(const PgConnection& connection, std::optional<std::int64_t> version);
// Whether the layout exists (a read never creates it); safe inside a transaction.
bool exists(PgConnection& connection);
// The layout's version; throws StoreError when it is newer than this cacheman knows.
int check_version(PgConnection& connection);
// Creates the layout when missing and migrates an older one, in one transaction. Throws
// StoreError for a layout newer than this cacheman knows.
void ensure(PgConnection& connection);

} // namespace cacheman::postgres::schema
