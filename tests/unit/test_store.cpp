#include "base/Error.hpp"
#include "engine/sqlite/Store.hpp"
#include "TempDir.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <sqlite3.h>
#include <sys/stat.h>

using namespace cacheman;
using Names = std::vector<std::string>;
using std::chrono::seconds;

namespace {

// A store on a fake clock that only moves when the test says so.
struct Fixture {
    std::shared_ptr<double> clock = std::make_shared<double>(1'700'000'000.0);
    Store store = Store::open_in_memory(options());

    StoreOptions options() const {
        StoreOptions opts;
        opts.clock = [now = clock] { return *now; };
        return opts;
    }
    void advance(double by) { *clock += by; }
};

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

int mode_of(const std::filesystem::path& path) {
    struct stat info {};
    REQUIRE(stat(path.c_str(), &info) == 0);
    return static_cast<int>(info.st_mode & 0777);
}

// Runs one SQL statement on a file directly, outside cacheman.
void raw_sql(const std::filesystem::path& path, const char* sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

} // namespace

TEST_CASE("set, get, overwrite, erase", "[store]") {
    Fixture f;
    CHECK_THROWS_AS(f.store.get("c", "k"), NotFoundError);
    f.store.set("c", "k", "v1");
    CHECK(f.store.get("c", "k") == "v1");
    f.store.set("c", "k", std::string("\0bin\xFF", 5));
    CHECK(f.store.get("c", "k") == std::string("\0bin\xFF", 5));
    CHECK_FALSE(f.store.get("c", "missing"));
    f.store.set("c", "j", "");
    CHECK(f.store.get("c", "j") == "");
    CHECK(f.store.erase("c", {"k", "missing"}) == 1);
    CHECK(f.store.erase("c", {"k"}) == 0);
    CHECK_THROWS_AS(f.store.erase("nope", {"k"}), NotFoundError);
    CHECK(f.store.keys("c") == Names{"j"});
}

TEST_CASE("names that differ only in case, or look like SQL, are distinct caches", "[store]") {
    Fixture f;
    const Names names{
        "A",           "a", "depends", "caches", "sqlite_master", "x\"; DROP TABLE depends; --",
        "\xE6\x97\xA5"};
    for (const auto& name : names) {
        f.store.set(name, "k", name);
    }
    for (const auto& name : names) {
        CHECK(f.store.get(name, "k") == name);
    }
    f.store.depend("A", "a");
    CHECK(f.store.list().size() == names.size());
    CHECK_THROWS_AS(f.store.set("", "k", "v"), UsageError);
}

TEST_CASE("keys come back in byte order", "[store]") {
    Fixture f;
    for (const char* key : {"b", "B", "a", "\xC3\xA9", "A", "aa"}) {
        f.store.set("c", key, "v");
    }
    CHECK(f.store.keys("c") == Names{"A", "B", "a", "aa", "b", "\xC3\xA9"});
}

TEST_CASE("expired entries are invisible at once and purged by a later write", "[store][ttl]") {
    Fixture f;
    f.store.set("c", "short", "v", seconds(10));
    f.store.set("c", "long", "v", seconds(100));
    f.store.set("c", "forever", "v");
    f.advance(10);
    CHECK_FALSE(f.store.get("c", "short"));
    CHECK(f.store.keys("c") == Names{"forever", "long"});
    CHECK(f.store.list().at(0).entries == 2);
    f.store.set("c", "other", "v"); // a write purges what is due
    std::string exported;
    f.store.export_entries("c", [&](std::string_view chunk) { exported += chunk; });
    CHECK(exported.find("short") == std::string::npos);
    CHECK(exported.find(R"("key": "long", "value": "v", "expires": 1700000100)") !=
          std::string::npos);
    f.advance(90);
    CHECK(f.store.keys("c") == Names{"forever", "other"});
    // Overwriting without a ttl makes an entry permanent again.
    f.store.set("c", "k", "v", seconds(1));
    f.store.set("c", "k", "v2");
    f.advance(5);
    CHECK(f.store.get("c", "k") == "v2");
}

TEST_CASE("invalidate clears the cache and every dependent in one go", "[store][cascade]") {
    Fixture f;
    f.store.depend("root", "a");
    f.store.depend("root", "b");
    f.store.depend("a", "c");
    f.store.depend("b", "c");
    f.store.depend("up", "root");
    for (const char* cache : {"root", "a", "b", "c", "up", "unrelated"}) {
        f.store.set(cache, "k1", "v");
        f.store.set(cache, "k2", "v");
    }
    CHECK(f.store.invalidate("root", std::nullopt, true) == Names{"root", "a", "b", "c"});
    CHECK(f.store.keys("c").size() == 2); // the dry run changed nothing

    CHECK(f.store.invalidate("root", std::string("k1"), false) == Names{"root", "a", "b", "c"});
    CHECK(f.store.keys("root") == Names{"k2"});
    CHECK(f.store.keys("a").empty());
    CHECK(f.store.keys("c").empty());
    CHECK(f.store.keys("up").size() == 2);
    CHECK(f.store.keys("unrelated").size() == 2);

    f.store.invalidate("root", std::nullopt, false);
    CHECK(f.store.keys("root").empty());
    CHECK_THROWS_AS(f.store.invalidate("nope", std::nullopt, false), NotFoundError);
}

TEST_CASE("depend refuses cycles, undepend needs an edge", "[store][graph]") {
    Fixture f;
    f.store.depend("a", "b");
    f.store.depend("a", "b"); // no-op
    f.store.depend("b", "c");
    CHECK(f.store.dependencies("a", false).children == Names{"b"});
    CHECK(f.store.dependencies("c", true).parents == Names{"a", "b"});
    CHECK_THROWS_WITH(f.store.depend("c", "a"), Catch::Contains("c -> a -> b -> c"));
    CHECK_THROWS_WITH(f.store.depend("a", "a"), Catch::Contains("a -> a"));
    f.store.undepend("a", "b");
    CHECK_THROWS_AS(f.store.undepend("a", "b"), NotFoundError);
    CHECK(f.store.dependencies("b", false).parents.empty());
}

TEST_CASE("drop clears dependents and removes the cache with its edges", "[store]") {
    Fixture f;
    f.store.depend("up", "mid");
    f.store.depend("mid", "down");
    f.store.set("mid", "k", "v");
    f.store.set("down", "k", "v");
    f.store.set("up", "k", "v");
    CHECK(f.store.drop("mid") == Names{"down"});
    CHECK_FALSE(f.store.has_cache("mid"));
    CHECK(f.store.keys("down").empty());
    CHECK(f.store.keys("up") == Names{"k"});
    CHECK(f.store.dependencies("up", false).children.empty());
    CHECK(f.store.dependencies("down", false).parents.empty());
    CHECK_THROWS_AS(f.store.drop("mid"), NotFoundError);
}

TEST_CASE("import is all or nothing and names the bad line", "[store][import]") {
    Fixture f;
    f.store.set("c", "keep", "old");
    const std::string good = "{\"key\": \"a\", \"value\": \"1\"}\n\n"
                             "{\"key\": \"b\", \"value_base64\": \"AP8=\"}\n"
                             "{\"key\": \"a\", \"value\": \"2\"}\n";
    CHECK(f.store.import_entries("c", good, "stdin") == 3);
    CHECK(f.store.get("c", "a") == "2");
    CHECK(f.store.get("c", "b") == std::string("\0\xFF", 2));

    const std::string bad = "{\"key\": \"x\", \"value\": \"1\"}\n{\"key\": \"y\"}\n";
    CHECK_THROWS_WITH(f.store.import_entries("c", bad, "in.jsonl"),
                      Catch::StartsWith("malformed import line 2:") &&
                          Catch::EndsWith("(in.jsonl)"));
    CHECK_FALSE(f.store.get("c", "x"));
    CHECK(f.store.get("c", "keep") == "old");
    CHECK_THROWS_AS(f.store.import_entries("new", bad, "stdin"), UsageError);
    CHECK_FALSE(f.store.has_cache("new"));
}

TEST_CASE("list reports live entries, bytes and direct edges", "[store]") {
    Fixture f;
    f.store.set("b", "k", "12345");
    f.store.set("b", "gone", "xx", seconds(1));
    f.store.depend("a", "b");
    f.advance(2);
    const auto caches = f.store.list();
    REQUIRE(caches.size() == 2);
    CHECK(caches[0].name == "a");
    CHECK(caches[0].children == Names{"b"});
    CHECK(caches[1].entries == 1);
    CHECK(caches[1].bytes == 5);
    CHECK(caches[1].parents == Names{"a"});
}

TEST_CASE("a store on disk: modes, persistence, WAL", "[store][file]") {
    test::TempDir tmp;
    const Location location{(tmp.path() / "sub" / "dir").string(), "ns"};
    {
        auto store = Store::open(location, OpenMode::create);
        store.set("c", "k", "v");
    }
    CHECK(mode_of(tmp.path() / "sub" / "dir") == 0700);
    CHECK(mode_of(location.path()) == 0600);
    auto again = Store::open(location, OpenMode::read);
    CHECK(again.get("c", "k") == "v");
}

TEST_CASE("reads of a missing store create nothing", "[store][file]") {
    test::TempDir tmp;
    const Location location{(tmp.path() / "none").string(), "ns"};
    auto store = Store::open(location, OpenMode::read);
    CHECK(store.list().empty());
    CHECK_THROWS_AS(store.get("c", "k"), NotFoundError);
    CHECK_FALSE(std::filesystem::exists(tmp.path() / "none"));
}

TEST_CASE("a file that is not a cacheman store is refused and left untouched", "[store][file]") {
    test::TempDir tmp;
    const Location location{tmp.path().string(), "ns"};
    SECTION("text") {
        std::ofstream(location.path()) << "not a database, just some text that is long enough";
    }
    SECTION("another program's SQLite database") {
        raw_sql(location.path(), "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
    }
    const std::string before = read_file(location.path());
    CHECK_THROWS_AS(Store::open(location, OpenMode::create), StoreError);
    CHECK_THROWS_AS(Store::open(location, OpenMode::read), StoreError);
    CHECK(read_file(location.path()) == before);
}

TEST_CASE("a zero-byte file is initialised as a new store", "[store][file]") {
    test::TempDir tmp;
    const Location location{tmp.path().string(), "ns"};
    std::ofstream(location.path()).close();
    auto store = Store::open(location, OpenMode::create);
    store.set("c", "k", "v");
    CHECK(store.get("c", "k") == "v");
}

TEST_CASE("a store from a newer cacheman is refused", "[store][file][schema]") {
    test::TempDir tmp;
    const Location location{tmp.path().string(), "ns"};
    Store::open(location, OpenMode::create).set("c", "k", "v");
    raw_sql(location.path(), "PRAGMA user_version = 99");
    CHECK_THROWS_WITH(Store::open(location, OpenMode::read), Catch::Contains("newer"));
}

TEST_CASE("a directory that cannot be created is a store error", "[store][file]") {
    test::TempDir tmp;
    std::ofstream(tmp.path() / "file") << "x";
    const Location location{(tmp.path() / "file" / "sub").string(), "ns"};
    CHECK_THROWS_AS(Store::open(location, OpenMode::create), StoreError);
}
