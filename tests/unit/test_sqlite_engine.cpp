// What only the SQLite engine has: a file (its modes, its journal, its identity and schema
// versions, foreign files left alone), the tables behind the caches, the volatile file and the
// lookup counts file. The behaviour every engine shares is in test_engine.cpp.
#include "EnvVar.hpp"
#include "TempDir.hpp"
#include "TestClock.hpp"
#include "base/Error.hpp"
#include "engine/sqlite/Schema.hpp"
#include "engine/sqlite/SqliteEngine.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <sqlite3.h>
#include <sys/stat.h>

using namespace cacheman;
using engine::Access;
using engine::OpenMode;
using engine::Status;
using sqlite::SqliteEngine;
using Names = std::vector<std::string>;
using std::chrono::seconds;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

int mode_of(const std::filesystem::path& path) {
    struct stat info {};
    REQUIRE(stat(path.c_str(), &info) == 0);
    return static_cast<int>(info.st_mode & 0777);
}

// Runs SQL on a file directly, outside cacheman.
void raw_sql(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    const std::string message = error ? error : "";
    sqlite3_free(error);
    sqlite3_close(db);
    INFO(message);
    REQUIRE(rc == SQLITE_OK);
}

// The rows of one query on a file, each row's columns joined by '|'.
Names raw_query(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    Names rows;
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    while (sqlite3_step(statement) == SQLITE_ROW) {
        std::string row;
        for (int i = 0; i < sqlite3_column_count(statement); ++i) {
            if (i > 0) {
                row += '|';
            }
            if (const auto* text = sqlite3_column_text(statement, i)) {
                row += reinterpret_cast<const char*>(text);
            }
        }
        rows.push_back(row);
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return rows;
}

// A batch of one write.
engine::WriteSource one(const std::string& key, const std::string& value,
                        std::optional<Duration> ttl = std::nullopt) {
    return [key, value, ttl, given = false](engine::Write& write) mutable {
        if (given) {
            return false;
        }
        given = true;
        write = {key, value, std::nullopt, ttl, {}, {}};
        return true;
    };
}

void set(engine::Engine& e, std::string_view cache, const std::string& key,
         const std::string& value, std::optional<Duration> ttl = std::nullopt) {
    REQUIRE(e.apply(cache, one(key, value, ttl), Access::raw, std::nullopt).ok());
}

std::optional<std::string> value_of(engine::Engine& e, std::string_view cache,
                                    std::string_view key) {
    auto found = e.get(cache, key, Access::raw);
    REQUIRE(found.ok());
    return found.value ? std::optional<std::string>(found.value->value) : std::nullopt;
}

// A store directory with its own runtime directory for volatile caches.
struct OnDisk {
    test::TempDir tmp;
    test::EnvVar runtime{"CACHEMAN_RUNTIME_DIR", (tmp.path() / "runtime").c_str()};
    test::TestClock clock;
    Location location{(tmp.path() / "store").string(), "ns", {}};
    [[nodiscard]] std::filesystem::path file() const { return location.path(); }
    [[nodiscard]] SqliteEngine open(OpenMode mode = OpenMode::create) const {
        return SqliteEngine(location, mode, clock.options());
    }
};

} // namespace

// --- the file ------------------------------------------------------------------------------------

TEST_CASE("sqlite: a store on disk is private, persistent and in WAL mode", "[sqlite][file]") {
    test::TempDir tmp;
    const Location location{(tmp.path() / "sub" / "dir").string(), "ns", {}};
    {
        SqliteEngine store(location, OpenMode::create, {});
        set(store, "c", "k", "v");
        CHECK(store.name() == location.path());
    }
    CHECK(mode_of(tmp.path() / "sub") == 0700);
    CHECK(mode_of(tmp.path() / "sub" / "dir") == 0700);
    CHECK(mode_of(location.path()) == 0600);
    CHECK(raw_query(location.path(), "PRAGMA journal_mode") == Names{"wal"});
    SqliteEngine again(location, OpenMode::read, {});
    CHECK(value_of(again, "c", "k") == "v");
}

TEST_CASE("sqlite: opening a missing store without create creates nothing", "[sqlite][file]") {
    test::TempDir tmp;
    const Location location{(tmp.path() / "none").string(), "ns", {}};
    const auto mode = GENERATE(OpenMode::read, OpenMode::write);
    SqliteEngine store(location, mode, {});
    CHECK(store.list().empty());
    CHECK(store.get("c", "k", Access::raw).status == Status::no_cache);
    if (mode == OpenMode::write) {
        set(store, "c", "k", "v"); // acts on an empty store that is not kept
    }
    CHECK_FALSE(std::filesystem::exists(tmp.path() / "none"));
}

TEST_CASE("sqlite: a file that is not a cacheman store is refused and left untouched",
          "[sqlite][file]") {
    test::TempDir tmp;
    const Location location{tmp.path().string(), "ns", {}};
    SECTION("text") {
        std::ofstream(location.path()) << "not a database, just some text that is long enough";
    }
    SECTION("a file shorter than one page") {
        std::ofstream(location.path()) << "short";
    }
    SECTION("one byte") {
        std::ofstream(location.path()) << "x";
    }
    SECTION("another program's SQLite database") {
        raw_sql(location.path(), "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
    }
    SECTION("an empty SQLite database of another application") {
        raw_sql(location.path(), "PRAGMA application_id = 1234; VACUUM;");
    }
    const std::string before = read_file(location.path());
    for (const auto mode : {OpenMode::create, OpenMode::write, OpenMode::read}) {
        CHECK_THROWS_AS(SqliteEngine(location, mode, {}), StoreError);
        CHECK_THROWS_WITH(SqliteEngine(location, mode, {}),
                          Catch::Contains("not a cacheman store") &&
                              Catch::Contains(location.path()));
    }
    CHECK(read_file(location.path()) == before);
    CHECK_FALSE(std::filesystem::exists(location.path() + "-wal"));
}

TEST_CASE("sqlite: a zero-byte file is initialised as a new store", "[sqlite][file]") {
    test::TempDir tmp;
    const Location location{tmp.path().string(), "ns", {}};
    std::ofstream(location.path()).close();
    {
        SqliteEngine store(location, OpenMode::create, {});
        set(store, "c", "k", "v");
        CHECK(value_of(store, "c", "k") == "v");
        CHECK(store.check().healthy());
    }
    CHECK(raw_query(location.path(), "PRAGMA journal_mode") == Names{"wal"});
}

TEST_CASE("sqlite: a store path that is not a regular file is refused", "[sqlite][file]") {
    test::TempDir tmp;
    const Location location{tmp.path().string(), "ns", {}};
    std::filesystem::create_directory(location.path());
    CHECK_THROWS_AS(SqliteEngine(location, OpenMode::create, {}), StoreError);
}

TEST_CASE("sqlite: a directory that cannot be created is a store error", "[sqlite][file]") {
    test::TempDir tmp;
    std::ofstream(tmp.path() / "file") << "x";
    const Location location{(tmp.path() / "file" / "sub").string(), "ns", {}};
    CHECK_THROWS_AS(SqliteEngine(location, OpenMode::create, {}), StoreError);
}

// --- schema versions -----------------------------------------------------------------------------

TEST_CASE("sqlite: a store from a newer cacheman is refused and left untouched",
          "[sqlite][schema]") {
    test::TempDir tmp;
    const Location location{tmp.path().string(), "ns", {}};
    {
        SqliteEngine store(location, OpenMode::create, {});
        set(store, "c", "k", "v");
    }
    raw_sql(location.path(), "PRAGMA user_version = 99");
    const std::string before = read_file(location.path());
    for (const auto mode : {OpenMode::create, OpenMode::read}) {
        CHECK_THROWS_AS(SqliteEngine(location, mode, {}), StoreError);
        CHECK_THROWS_WITH(SqliteEngine(location, mode, {}),
                          Catch::Contains("schema version 99") && Catch::Contains("newer"));
    }
    CHECK(read_file(location.path()) == before);
}

TEST_CASE("sqlite: a schema version 1 store is migrated, its caches kept", "[sqlite][schema]") {
    test::TempDir tmp;
    const test::EnvVar runtime("CACHEMAN_RUNTIME_DIR", (tmp.path() / "runtime").c_str());
    const Location location{tmp.path().string(), "ns", {}};
    // Version 1 as the first cacheman wrote it: caches, depends, one table per cache.
    raw_sql(location.path(), R"sql(
        PRAGMA journal_mode = WAL;
        CREATE TABLE caches(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                            created REAL NOT NULL, invalidated REAL, next_expiry REAL);
        CREATE TABLE depends(parent TEXT NOT NULL, child TEXT NOT NULL,
                             PRIMARY KEY(parent, child)) WITHOUT ROWID;
        CREATE INDEX depends_by_child ON depends(child, parent);
        INSERT INTO caches(id, name, created) VALUES(1, 'parent', 1), (2, 'child', 1);
        CREATE TABLE cache_1(key TEXT PRIMARY KEY NOT NULL, expires REAL,
                             value BLOB NOT NULL) WITHOUT ROWID;
        CREATE TABLE cache_2(key TEXT PRIMARY KEY NOT NULL, expires REAL,
                             value BLOB NOT NULL) WITHOUT ROWID;
        INSERT INTO cache_1 VALUES('k', NULL, 'from v1');
        INSERT INTO cache_2 VALUES('k', NULL, 'derived');
        INSERT INTO depends VALUES('parent', 'child');
        PRAGMA application_id = 1667326824;
        PRAGMA user_version = 1;
    )sql");
    const auto mode = GENERATE(OpenMode::read, OpenMode::create);
    {
        SqliteEngine store(location, mode, {});
        CHECK(value_of(store, "parent", "k") == "from v1");
        const auto settings = store.settings("parent");
        REQUIRE(settings);
        CHECK_FALSE(settings->builder);
        CHECK_FALSE(settings->is_volatile);
        CHECK(store.dependencies("parent", false).value.children == Names{"child"});
        CHECK(store.edit_counts("parent").empty());
        CHECK(store.log(std::nullopt, 10).empty());
        const auto report = store.check();
        CHECK(report.healthy());
        CHECK(report.schema_version == schema::k_latest_version);
        // Entries stored before version 4 are the least recently used of all.
        set(store, "child", "a", "v");
        store.configure("child", [](engine::CacheSettings& s) { s.max_entries = 1; });
        CHECK(store.keys("child", Access::raw).value == Names{"a"});
        // The new parts of the schema work on the migrated store.
        store.configure("parent", [](engine::CacheSettings& s) { s.saver = "cat > /dev/null"; });
        CHECK(store.invalidate("parent", std::nullopt, false, "invalidate").value ==
              Names{"parent", "child"});
        CHECK(store.log(std::nullopt, 10).size() == 1);
        // Version 7: a large value lives as a content.
        const std::string large(engine::k_largest_inline_value + 1, 'x');
        set(store, "parent", "large", large);
        CHECK(value_of(store, "parent", "large") == large);
        CHECK(store.check().healthy());
    }
    CHECK(raw_query(location.path(), "PRAGMA user_version") ==
          Names{std::to_string(schema::k_latest_version)});
    // Version 5: the entries tables are rowid tables (their entries were read back above).
    CHECK(raw_query(location.path(), "SELECT count(*) FROM sqlite_master WHERE name GLOB "
                                     "'cache_*' AND sql LIKE '%WITHOUT ROWID%'") == Names{"0"});
}

// --- the tables behind the caches ----------------------------------------------------------------

TEST_CASE("sqlite: cache names never become table names", "[sqlite][names]") {
    OnDisk d;
    auto store = d.open();
    for (const char* name : {"x\"; DROP TABLE depends; --", "Cache", "cache", "cache_1"}) {
        set(store, name, "k", "v");
    }
    store.depend("Cache", "cache");
    CHECK(raw_query(d.file(), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY "
                              "name") == Names{"cache_1", "cache_2", "cache_3", "cache_4", "caches",
                                               "content_chunks", "content_refs", "contents",
                                               "depends", "edits", "log", "stats", "use_clock"});
    CHECK(raw_query(d.file(), "SELECT id, name FROM caches ORDER BY id") ==
          Names{"1|x\"; DROP TABLE depends; --", "2|Cache", "3|cache", "4|cache_1"});
}

TEST_CASE("sqlite: expired entries are purged by a later write", "[sqlite][ttl]") {
    OnDisk d;
    auto store = d.open();
    set(store, "c", "short", "v", seconds(10));
    set(store, "c", "long", "v", seconds(100));
    set(store, "c", "forever", "v");
    const auto rows = [&] { return raw_query(d.file(), "SELECT key FROM cache_1 ORDER BY key"); };
    d.clock.advance(10);
    CHECK_FALSE(value_of(store, "c", "short"));
    CHECK(rows() == Names{"forever", "long", "short"}); // reads never write
    set(store, "other", "k", "v");                      // a write elsewhere leaves it
    CHECK(rows() == Names{"forever", "long", "short"});
    set(store, "c", "new", "v"); // a write of the cache purges what is due
    CHECK(rows() == Names{"forever", "long", "new"});
    CHECK(raw_query(d.file(), "SELECT CAST(next_expiry AS INTEGER) FROM caches WHERE id = 1") ==
          Names{std::to_string(static_cast<std::int64_t>(test::TestClock::k_start) + 100)});
    d.clock.advance(90);
    store.erase("c", {"missing"}, Access::raw); // so does an erase
    CHECK(rows() == Names{"forever", "new"});
}

TEST_CASE("sqlite: check reports edges and tables that disagree", "[sqlite][check]") {
    OnDisk d;
    {
        auto store = d.open();
        store.depend("a", "b");
        CHECK(store.check().healthy());
    }
    raw_sql(d.file(), "INSERT INTO depends VALUES('a', 'ghost'); CREATE TABLE cache_99(x);"
                      "DROP TABLE cache_2;");
    auto store = d.open(OpenMode::read);
    const auto report = store.check();
    CHECK_FALSE(report.healthy());
    CHECK(report.integrity == Names{"ok"});
    CHECK(report.problems == Names{"orphan edge 'a' -> 'ghost'",
                                   "cache 'b' has no entries table (cache_2)",
                                   "table cache_99 belongs to no cache"});
}

TEST_CASE("sqlite: a writer waits for the lock, then fails with LockedError", "[sqlite][lock]") {
    OnDisk d;
    auto store = d.open();
    set(store, "c", "k", "v");
    engine::EngineOptions options = d.clock.options();
    options.busy_timeout_ms = 50;
    SqliteEngine impatient(d.location, OpenMode::write, options);
    sqlite3* holder = nullptr;
    REQUIRE(sqlite3_open(d.file().c_str(), &holder) == SQLITE_OK);
    REQUIRE(sqlite3_exec(holder, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK_THROWS_AS(impatient.apply("c", one("k", "v2"), Access::raw, std::nullopt), LockedError);
    CHECK(value_of(impatient, "c", "k") == "v"); // readers are not blocked
    sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(holder);
    set(impatient, "c", "k", "v2");
    CHECK(value_of(store, "c", "k") == "v2");
}

// --- the volatile file and the counts file -------------------------------------------------------

TEST_CASE("sqlite: volatile contents live in the runtime directory, never in the store file",
          "[sqlite][volatile]") {
    OnDisk d;
    {
        auto store = d.open();
        store.configure("v", [](engine::CacheSettings& s) {
            s.is_volatile = true;
            s.builder = "printf ''";
        });
        store.replace_contents("v", one("k", "volatile-secret"), true);
        CHECK(store.get("v", "k", Access::built).ok());
    }
    CHECK(read_file(d.file()).find("volatile-secret") == std::string::npos);
    CHECK(read_file(d.file().string() + "-wal").find("volatile-secret") == std::string::npos);
    const auto runtime = d.tmp.path() / "runtime";
    CHECK(mode_of(runtime) == 0700);
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(runtime)) {
        if (entry.path().extension() == ".sqlite") {
            files.push_back(entry.path());
        }
    }
    REQUIRE(files.size() == 1);
    CHECK(mode_of(files[0]) == 0600);

    // The runtime directory emptied (a reboot): the cache is there, empty and unbuilt.
    std::filesystem::remove_all(runtime);
    auto store = d.open();
    CHECK(store.get("v", "k", Access::built).status == Status::unbuilt);
    CHECK_FALSE(value_of(store, "v", "k"));
    CHECK(store.check().healthy());
}

TEST_CASE("sqlite: lookups append to the counts file; a fold empties it", "[sqlite][stats]") {
    OnDisk d;
    auto store = d.open();
    set(store, "c", "k", "v");
    const std::filesystem::path counts = d.location.dir + "/ns.counts";
    CHECK_FALSE(std::filesystem::exists(counts));
    store.count_lookup("c", std::nullopt, true);
    store.count_lookup("c", std::nullopt, false);
    CHECK(read_file(counts) == "h\tc\nm\tc\n");
    CHECK(mode_of(counts) == 0600);
    // Another engine on the store folds what this one counted.
    auto other = d.open(OpenMode::write);
    other.fold_lookup_counts();
    CHECK_FALSE(std::filesystem::exists(counts));
    const auto list = store.list();
    REQUIRE(list.size() == 1);
    CHECK(list[0].hits == 1);
    CHECK(list[0].misses == 1);
}
