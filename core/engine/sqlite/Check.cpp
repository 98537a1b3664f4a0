#include "engine/sqlite/Check.hpp"

#include "base/Error.hpp"
#include "engine/sqlite/Transaction.hpp"

namespace cacheman::sqlite {

namespace {

void check_tables(Connection& connection, engine::CheckReport& report) {
    Transaction tx(connection.db(), Transaction::Kind::read);
    auto& orphans = connection.prepared(
        "SELECT parent, child FROM depends WHERE parent NOT IN (SELECT name FROM caches) OR "
        "child NOT IN (SELECT name FROM caches)");
    while (orphans.step()) {
        report.problems.push_back("orphan edge '" + std::string(orphans.column_text(0)) + "' -> '" +
                                  std::string(orphans.column_text(1)) + "'");
    }
    orphans.reset();
    auto& missing = connection.prepared(
        "SELECT name, id FROM caches WHERE NOT volatile AND 'cache_' || id NOT IN "
        "(SELECT name FROM sqlite_master WHERE type = 'table')");
    while (missing.step()) {
        report.problems.push_back("cache '" + std::string(missing.column_text(0)) +
                                  "' has no entries table (cache_" +
                                  std::to_string(missing.column_int(1)) + ")");
    }
    missing.reset();
    auto& stray = connection.prepared(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'cache_[0-9]*' AND "
        "substr(name, 7) NOT IN (SELECT CAST(id AS TEXT) FROM caches)");
    while (stray.step()) {
        report.problems.push_back("table " + std::string(stray.column_text(0)) +
                                  " belongs to no cache");
    }
    stray.reset();
}

// The contents of outputs (schema version 6): every reference leads to a content, and each
// content's chunks add up to its size.
void check_contents(Connection& connection, engine::CheckReport& report) {
    Transaction tx(connection.db(), Transaction::Kind::read);
    auto& dangling = connection.prepared(
        "SELECT count(*) FROM content_refs WHERE content_id NOT IN (SELECT id FROM contents)");
    dangling.step();
    if (const auto count = dangling.column_int(0); count > 0) {
        report.problems.push_back(std::to_string(count) +
                                  " references of entries to contents that are gone");
    }
    dangling.reset();
    auto& short_contents = connection.prepared(
        "SELECT digest FROM contents WHERE size != (SELECT coalesce(sum(length(data)), 0) FROM "
        "content_chunks WHERE content_id = contents.id)");
    while (short_contents.step()) {
        report.problems.push_back("content " + std::string(short_contents.column_text(0)) +
                                  " does not hold its size in bytes");
    }
    short_contents.reset();
}

} // namespace

engine::CheckReport check_store(Connection& connection) {
    engine::CheckReport report;
    auto& version = connection.prepared("PRAGMA user_version");
    version.step();
    report.schema_version = static_cast<int>(version.column_int(0));
    version.reset();
    try {
        auto& integrity = connection.prepared("PRAGMA integrity_check");
        while (integrity.step()) {
            report.integrity.emplace_back(integrity.column_text(0));
        }
        integrity.reset();
    } catch (const StoreError& error) {
        report.integrity.emplace_back(error.what());
    }
    try {
        check_tables(connection, report);
        if (report.schema_version >= 6) {
            check_contents(connection, report);
        }
    } catch (const StoreError& error) {
        report.problems.emplace_back(error.what());
    }
    return report;
}

} // namespace cacheman::sqlite
