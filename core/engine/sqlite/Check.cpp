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
    } catch (const StoreError& error) {
        report.problems.emplace_back(error.what());
    }
    return report;
}

} // namespace cacheman::sqlite
